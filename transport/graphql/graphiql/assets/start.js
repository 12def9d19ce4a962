// start.js renders GraphiQL into #graphiql. It is an asset of its own, not an
// inline script, so that the page's Content-Security-Policy can keep
// script-src 'self'. The per-page settings come from the JSON data block
// #graphiql-settings, which the browser does not execute:
//   endpoint    URL path of the GraphQL endpoint
//   headers     request headers to pre-fill, e.g. {"X-Tenant-ID": "demo"}
//   styleNonce  the CSP nonce of this response for the <style> elements that
//               GraphiQL's dialogs insert (react-remove-scroll reads it from
//               __webpack_nonce__)
(function () {
  "use strict";
  var settings = JSON.parse(document.getElementById("graphiql-settings").textContent);
  if (settings.styleNonce) {
    window.__webpack_nonce__ = settings.styleNonce;
  }
  var props = { fetcher: GraphiQL.createFetcher({ url: settings.endpoint }) };
  var headers = settings.headers || {};
  if (Object.keys(headers).length > 0) {
    props.defaultHeaders = JSON.stringify(headers, null, 2);
    props.defaultEditorToolsVisibility = "headers";
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props)
  );
})();
