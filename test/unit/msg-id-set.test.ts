import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import { MsgIdSet } from "../../src/controller/msg-id-set.js";

test("a msg id set holds 200,000 random UUIDs exactly: every one is found, none that was not added", () => {
  const set = new MsgIdSet();
  const added = Array.from({ length: 200_000 }, () => randomUUID());
  for (const id of added) assert.equal(set.add(id), true);
  assert.equal(set.size, added.length);
  for (const id of added) assert.equal(set.has(id), true);
  for (const id of added) assert.equal(set.add(id), false, "a second add is refused");
  for (let i = 0; i < 200_000; i++) assert.equal(set.has(randomUUID()), false);
  assert.equal(set.size, added.length);
});

test("ids that differ only in their last digits (not random) are all kept apart", () => {
  const set = new MsgIdSet();
  const id = (i: number) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, "0")}`;
  for (let i = 0; i < 50_000; i++) set.add(id(i));
  for (let i = 0; i < 50_000; i++) assert.equal(set.has(id(i)), true);
  assert.equal(set.has(id(50_000)), false);
});

test("the all-zero UUID, upper-case UUIDs and ids of any other form are exact too", () => {
  const set = new MsgIdSet();
  const zero = "00000000-0000-0000-0000-000000000000";
  assert.equal(set.has(zero), false);
  assert.equal(set.add(zero), true);
  assert.equal(set.has(zero), true);
  assert.equal(set.add(zero), false);
  const lower = randomUUID();
  set.add(lower.toUpperCase());
  assert.equal(set.has(lower), false, "a different string is a different id");
  assert.equal(set.has(lower.toUpperCase()), true);
  for (const other of ["", "task-1", "x".repeat(36), `${lower}-suffix`]) {
    assert.equal(set.add(other), true);
    assert.equal(set.has(other), true);
  }
  assert.equal(set.size, 6);
});
