/**
 * The few d3 v7 functions the graph page uses. d3 ships no types and @types/d3 is not a
 * dependency, so these declarations cover exactly what the page calls.
 */
declare module "d3" {
  /** A d3 selection; only the methods the page calls. */
  export interface Selection<E extends Element = Element> {
    node(): E | null;
    select<C extends Element = Element>(selector: string): Selection<C>;
    selectAll<C extends Element = Element>(selector: string): Selection<C>;
    attr(name: string, value: string | number): this;
    on(type: string, listener: ((event: Event, datum: unknown) => void) | null): this;
    each(callback: (this: E, datum: unknown) => void): this;
    call<A extends unknown[]>(fn: (selection: this, ...args: A) => void, ...args: A): this;
  }
  export function select<E extends Element = Element>(selector: string | E): Selection<E>;

  /** A zoom transform. */
  export interface ZoomTransform {
    translate(x: number, y: number): ZoomTransform;
    scale(k: number): ZoomTransform;
    toString(): string;
  }
  export const zoomIdentity: ZoomTransform;

  /** A zoom behaviour, applied with `selection.call(behaviour)`. */
  export interface ZoomBehavior {
    (selection: Selection<SVGSVGElement>): void;
    scaleExtent(extent: [number, number]): this;
    on(type: string, listener: (event: { transform: ZoomTransform }) => void): this;
    transform(selection: Selection<SVGSVGElement>, transform: ZoomTransform): void;
  }
  export function zoom(): ZoomBehavior;

  /** A curve factory for edge paths. */
  export type CurveFactory = object;
  export const curveBasis: CurveFactory;
}
