import assert from "node:assert/strict";
import { test } from "node:test";
import { RecentIds } from "../../src/client/recent-ids.js";

test("the history keeps the most recent ids, oldest first, and indexes them from either end", () => {
  const history = new RecentIds(3);
  assert.deepEqual(history.list(), []);
  assert.equal(history.at(0), undefined);
  history.push("a");
  history.push("b");
  assert.deepEqual(history.list(), ["a", "b"]);
  assert.equal(history.at(-1), "b");
  for (const id of ["c", "d", "e", "f", "g", "h"]) {
    history.push(id);
    const kept = history.list();
    assert.equal(kept.length, Math.min(3, history.length));
    assert.equal(kept.at(-1), id);
  }
  assert.deepEqual(history.list(), ["f", "g", "h"]);
  assert.equal(history.length, 3);
  assert.equal(history.at(0), "f");
  assert.equal(history.at(2), "h");
  assert.equal(history.at(-3), "f");
  assert.equal(history.at(3), undefined, "past the newest");
  assert.equal(history.at(-4), undefined, "older than the kept ids");
  assert.equal(history.at(0.5), undefined);
});
