import { test } from "node:test";
import * as assert from "node:assert";
import { isUser } from "../src/index";

test("isUser accepts a user and rejects other values", () => {
  assert.ok(isUser({ id: "u1", email: "a@example.com", name: "A" }));
  assert.ok(!isUser({ id: 1 }));
  assert.ok(!isUser(null));
});
