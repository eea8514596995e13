// Starts Swagger UI on /docs (a file, not inline script, so the page's CSP can forbid inline script).
"use strict";
window.ui = SwaggerUIBundle({
  url: document.body.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  validatorUrl: null,          // no badge fetched from validator.swagger.io
  persistAuthorization: false, // a token typed into Authorize is not kept in the browser
});
