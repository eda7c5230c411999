// Validates Amazon States Language files with AWS's own language service (the one behind the
// VS Code toolkit). Usage: node validate_asl.js FILE...; prints one JSON line per file:
// {"file": ..., "diagnostics": [{"severity", "message", "line"}]}.
"use strict";
const fs = require("fs");
const { getLanguageService, TextDocument } = require("amazon-states-language-service");

async function main() {
  const service = getLanguageService({});
  for (const file of process.argv.slice(2)) {
    const text = fs.readFileSync(file, "utf8");
    const document = TextDocument.create(file, "json", 0, text);
    const json = service.parseJSONDocument(document);
    const diagnostics = await service.doValidation(document, json);
    const out = diagnostics.map((d) => ({
      severity: d.severity,
      message: d.message,
      line: d.range.start.line + 1,
    }));
    process.stdout.write(JSON.stringify({ file, diagnostics: out }) + "\n");
  }
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});
