// /docs: starts Swagger UI (loaded before this from /docs/assets/) on the page's own settings, so that the
// page needs no inline script and keeps the CSP of every other page.
'use strict';
(function () {
  const settings = JSON.parse(document.getElementById('page-data').textContent);
  window.ui = SwaggerUIBundle(Object.assign({}, settings, {
    dom_id: '#swagger-ui',
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: 'BaseLayout',
  }));
})();
