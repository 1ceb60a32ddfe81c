// Requires each module named on the command line (a JSON array) from CommonJS, as an
// application does, and prints `RESULT <json>`: its export names, or why it did not load.
const specifiers = JSON.parse(process.argv[2] ?? '[]');
const result = {};
for (const specifier of specifiers) {
  try {
    result[specifier] = { names: Object.keys(require(specifier)).sort() };
  } catch (error) {
    result[specifier] = { error: `${error.code ?? error.name}: ${error.message.split('\n')[0]}` };
  }
}
console.log(`RESULT ${JSON.stringify(result)}`);
