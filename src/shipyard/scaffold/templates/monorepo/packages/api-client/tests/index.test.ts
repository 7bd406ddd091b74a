import { test } from "node:test";
import * as assert from "node:assert";
import { ApiClient } from "../src/index";

test("url joins the base and the path", () => {
  assert.strictEqual(new ApiClient("http://user-service:8080").url("/users/1"), "http://user-service:8080/users/1");
});
