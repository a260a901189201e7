// The pages' WebSocket (/ws) routed through the test, for the browser tests that cut it: to the
// relay while the link is up; while net.cut is set, new connections are refused (the test closes
// the open ones through net.servers). net.dropNext drops the next stream event (one with an
// offset) of that type on its way to the page, into net.dropped: a gap while connected.
export function newLink() {
  return { cut: false, servers: [], dropNext: null, dropped: [] };
}

export function link(page, net) {
  return page.routeWebSocket(/\/ws$/, (ws) => {
    if (net.cut) { ws.close({ code: 1011, reason: 'cut by the test' }); return; }
    const server = ws.connectToServer();
    net.servers.push(server);
    server.onMessage((m) => {
      const j = JSON.parse(m);
      if (net.dropNext && j.type === net.dropNext && typeof j.offset === 'number') {
        net.dropped.push(j);
        net.dropNext = null;
        return;
      }
      ws.send(m);
    });
  });
}

// Closes every connection the page has (from the server's side) and refuses new ones.
export function cutLink(net) {
  net.cut = true;
  return Promise.all(net.servers.map((s) => s.close({ code: 4000, reason: 'cut by the test' })));
}
