// Judges IAM requests with @cloud-copilot/iam-simulate (pinned in package.json), an IAM policy
// simulator this project did not write. Usage: node simulate_iam.js REQUESTS.json; the file holds
// {"accountId", "roles": {ROLE: {"arn", "policies": [{"name", "policy"}]}},
//  "requests": [{"role", "action", "resource"}]}
// and one JSON line is printed per request, in order:
// {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied" | "Error", "errors"?: ...}.
"use strict";
const fs = require("fs");
const { runSimulation } = require("@cloud-copilot/iam-simulate");

async function main() {
  const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const lines = [];
  for (const request of input.requests) {
    const role = input.roles[request.role];
    const simulation = {
      request: {
        principal: role.arn,
        action: request.action,
        resource: { resource: request.resource, accountId: input.accountId },
        contextVariables: {},
      },
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    };
    const result = await runSimulation(simulation, {});
    if (result.resultType === "error") {
      lines.push(JSON.stringify({ result: "Error", errors: result.errors }));
    } else {
      lines.push(JSON.stringify({ result: result.overallResult }));
    }
  }
  process.stdout.write(lines.map((line) => line + "\n").join(""));
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
