"use strict";
// Payments service. Types come from @__ORG__/common-types (see package.json); the runtime needs only Node.
const http = require("node:http");

/** @type {import("__SCOPE__/common-types").Payment[]} */
const payments = [];

function charge(input) {
  if (typeof input.userId !== "string" || !Number.isInteger(input.amountCents) || input.amountCents <= 0) {
    throw new Error("userId and a positive integer amountCents are required");
  }
  const payment = { id: String(payments.length + 1), userId: input.userId, amountCents: input.amountCents,
    currency: input.currency || "EUR" };
  payments.push(payment);
  return payment;
}

function createServer() {
  return http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      let status = 404, payload = { error: "not found" };
      if (req.method === "GET" && req.url === "/healthz") [status, payload] = [200, { status: "ok" }];
      else if (req.method === "POST" && req.url === "/payments") {
        try {
          [status, payload] = [201, charge(JSON.parse(body || "{}"))];
        } catch (err) {
          [status, payload] = [400, { error: String(err.message) }];
        }
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    });
  });
}

if (require.main === module) {
  createServer().listen(Number(process.env.PORT || 8080));
}

module.exports = { createServer, charge };
