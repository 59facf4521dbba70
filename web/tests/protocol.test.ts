import assert from "node:assert/strict";
import { test } from "node:test";
import { isPlausibleDisplayName } from "../src/protocol";

test("display names the server would refuse for their size are caught before they are sent", () => {
  assert.ok(isPlausibleDisplayName("Ana"));
  assert.ok(isPlausibleDisplayName("😀".repeat(32)));
  assert.ok(isPlausibleDisplayName("👨‍👩‍👧‍👦".repeat(5)));
  assert.ok(!isPlausibleDisplayName("x".repeat(33)));
  assert.ok(!isPlausibleDisplayName("李".repeat(32) + "李"));
  assert.ok(!isPlausibleDisplayName("👨‍👩‍👧‍👦".repeat(6)));
  assert.ok(!isPlausibleDisplayName("   "));
  assert.ok(!isPlausibleDisplayName("tab\there"));
});
