// Start dynalite (an in-memory DynamoDB) on 127.0.0.1, on a port the kernel picks.
// Prints the port as the first line of stdout; exits on SIGINT/SIGTERM or when stdin closes.
const dynalite = require("dynalite");

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
if (process.argv.includes("--exit-on-stdin-eof")) {
  process.stdin.on("end", stop);
  process.stdin.resume();
}
