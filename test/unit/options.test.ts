import assert from "node:assert/strict";
import { test } from "node:test";
import { kDefaultClusterOptions } from "../../src/cluster/cluster.js";
import { kDefaultConnectOptions } from "../../src/client/client.js";
import { kDefaultLoadBalancedFlags } from "../../src/client/load-balanced-view.js";
import { checkBooleans, fillDefaults } from "../../src/options.js";

test("fillDefaults: a given option wins, an undefined one takes its default, and neither input changes", () => {
  const defaults = Object.freeze({ chunksize: 1, ordered: true });
  const given = { ordered: false, chunksize: undefined, label: "fit" };
  const filled = fillDefaults(defaults, given);
  assert.deepEqual(filled, { chunksize: 1, ordered: false, label: "fit" });
  assert.deepEqual(given, { ordered: false, chunksize: undefined, label: "fit" });
  assert.notEqual(filled, defaults);
});

test("checkBooleans names the method, the option and the value", () => {
  assert.throws(() => checkBooleans({ wait: "yes" }, ["wait"], "shutdown"), {
    name: "TypeError",
    message: 'shutdown: wait must be a boolean, got "yes"',
  });
  checkBooleans({ wait: false, other: 1 }, ["wait"], "shutdown");
  checkBooleans({} as { wait?: boolean }, ["wait"], "shutdown");
});

test("the default tables cannot be changed by a caller", () => {
  for (const table of [kDefaultClusterOptions, kDefaultConnectOptions, kDefaultLoadBalancedFlags]) assert.ok(Object.isFrozen(table));
});
