// glassline dashboards: CSRF header on htmx requests, plotly charts from data-plot, clicks to audit records.
(function () {
  "use strict";
  function csrf() {
    var meta = document.querySelector('meta[name="glassline-csrf"]');
    return meta ? meta.getAttribute("content") : "";
  }
  function draw(root) {
    if (typeof Plotly === "undefined") { return; }
    var nodes = (root || document).querySelectorAll("[data-plot]");
    nodes.forEach(function (node) {
      if (node.getAttribute("data-drawn")) { return; }
      var spec = JSON.parse(node.getAttribute("data-plot"));
      node.setAttribute("data-drawn", "1");
      Plotly.newPlot(node, spec.data, spec.layout, {displayModeBar: false, responsive: true, showLink: false})
        .then(function () {
          node.on("plotly_click", function (event) {
            var point = event && event.points && event.points[0];
            if (point && typeof point.customdata === "string" && point.customdata.indexOf("/ui/") === 0) {
              window.location.assign(point.customdata);
            }
          });
          // plotly's own SVG is decoration; the figure's role and label carry its meaning
          node.querySelectorAll("svg").forEach(function (svg) { svg.setAttribute("aria-hidden", "true"); });
        });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    draw(document);
    document.body.addEventListener("htmx:configRequest", function (event) {
      event.detail.headers["X-CSRF-Token"] = csrf();
    });
    document.body.addEventListener("htmx:afterSwap", function (event) { draw(event.detail.target); });
  });
})();
