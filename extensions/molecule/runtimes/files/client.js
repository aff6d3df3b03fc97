// A device-side TLS client with Node's default options: it trusts Node's roots (bundled, plus
// NODE_EXTRA_CA_CERTS) and checks the host name. Prints "ok <protocol>" or "fail <code>".
const tls = require('tls');
const [host, port] = process.argv.slice(2);
const socket = tls.connect({ host, port: Number(port), servername: host }, () => {
  console.log(`ok ${socket.getProtocol()}`);
  socket.end();
});
socket.setTimeout(10000, () => { console.log('fail timeout'); process.exit(3); });
socket.on('error', (err) => { console.log(`fail ${err.code || err.message}`); process.exit(2); });
