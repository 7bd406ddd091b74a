"use strict";
// Users service. Types come from @__ORG__/common-types (see package.json); the runtime needs only Node.
const http = require("node:http");

/** @type {Map<string, import("__SCOPE__/common-types").User>} */
const users = new Map();

function handle(req, body) {
  if (req.method === "GET" && req.url === "/healthz") return [200, { status: "ok" }];
  if (req.method === "POST" && req.url === "/users") {
    const input = JSON.parse(body || "{}");
    if (typeof input.email !== "string" || !input.email.includes("@")) return [400, { error: "email required" }];
    const user = { id: String(users.size + 1), email: input.email, name: String(input.name || "") };
    users.set(user.id, user);
    return [201, user];
  }
  const match = /^\/users\/([^/]+)$/.exec(req.url || "");
  if (req.method === "GET" && match) {
    const user = users.get(decodeURIComponent(match[1]));
    return user ? [200, user] : [404, { error: "not found" }];
  }
  return [404, { error: "not found" }];
}

function createServer() {
  return http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      let status, payload;
      try {
        [status, payload] = handle(req, body);
      } catch (err) {
        [status, payload] = [400, { error: "bad request" }];
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    });
  });
}

if (require.main === module) {
  createServer().listen(Number(process.env.PORT || 8080));
}

module.exports = { createServer, handle };
