// Preloaded (`node --require`) by interop/test_js_clients.py: resolves `localhost` and
// `*.localhost` to the IPv4 loopback, as RFC 6761 says they are, whatever this machine's
// resolver does. Nothing else is changed.
const dns = require('dns');
const systemLookup = dns.lookup;
dns.lookup = function lookup(host, options, callback) {
  const name = typeof host === 'string' ? host.replace(/\.$/, '').toLowerCase() : host;
  if (name === 'localhost' || (typeof name === 'string' && name.endsWith('.localhost'))) {
    host = '127.0.0.1';
  }
  return systemLookup.call(this, host, options, callback);
};
