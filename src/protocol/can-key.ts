/**
 * The marker key of canned values, apart from canning itself: the wire's guards need the key
 * but not the parser canning uses to find a function's free names, which every engine would
 * otherwise load at start.
 */

/** Marker key: an own property with this name makes a plain object a canned reference. */
export const CAN_KEY = "__parallax_can__";
