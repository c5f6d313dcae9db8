// A Verdaccio npm registry on 127.0.0.1, on a port the kernel picks, for the prober's tests.
//
//   node serve_verdaccio.js CONFIG.yaml
//
// Prints `listening on 127.0.0.1:PORT` once it accepts connections; stops on SIGTERM or
// when its parent closes its standard input.
'use strict';
const { runServer } = require('verdaccio');

async function main(config) {
  const app = await runServer(config);
  const server = app.listen(0, '127.0.0.1', () => {
    console.log(`listening on 127.0.0.1:${server.address().port}`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop);
  process.stdin.resume();
}

if (process.argv.length !== 3) {
  console.error('usage: node serve_verdaccio.js CONFIG.yaml');
  process.exit(2);
}
main(process.argv[2]).catch((e) => {
  console.error(`verdaccio: ${e && e.message ? e.message : e}`);
  process.exit(1);
});
