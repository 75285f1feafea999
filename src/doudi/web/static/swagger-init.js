// Swagger UI from our own static files (no CDN, no online validator), pointed at the OpenAPI document.
window.addEventListener("load", function () {
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: node.dataset.openapi, dom_id: "#swagger-ui", validatorUrl: null, deepLinking: true });
});
