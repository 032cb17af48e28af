// /docs: Swagger UI (static/vendor/swagger-ui/, from npm) on the spec URL the page names. No inline
// script: the app's Content-Security-Policy allows scripts from this origin only.
(() => {
  "use strict";

  const root = document.getElementById("swagger-ui");
  const csrfToken = root.dataset.csrfToken;
  const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    domNode: root,
    deepLinking: true,
    validatorUrl: null, // no badge from an outside validator: nothing leaves this origin
    // "Try it out" runs on this origin with the agent's session cookie; changes need the CSRF token too.
    requestInterceptor: (request) => {
      if (csrfToken && !SAFE.has((request.method || "GET").toUpperCase())) {
        request.headers["X-CSRFToken"] = csrfToken;
      }
      return request;
    },
  });
})();
