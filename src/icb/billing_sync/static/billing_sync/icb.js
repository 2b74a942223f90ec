// The Integrated Customer Billing tab: the Billing Type list follows the chosen Module,
// and the warning triangle shows when the contract's account has no organization mapped
// in that module.
(function () {
  "use strict";
  function update(panel) {
    var module = panel.querySelector("[data-icb-module]");
    var kind = panel.querySelector("[data-icb-billing-type]");
    var warning = panel.querySelector("[data-icb-warning]");
    if (!module || !kind) { return; }
    var code = module.value;
    var mapped = (panel.getAttribute("data-mapped-modules") || "").split(",").filter(Boolean);
    kind.querySelectorAll("option[data-module]").forEach(function (option) {
      var mine = option.getAttribute("data-module") === code;
      option.hidden = !mine;
      option.disabled = !mine;
      if (!mine && option.selected) { kind.value = ""; }
    });
    kind.disabled = !code || module.disabled;
    if (warning) { warning.hidden = !code || mapped.indexOf(code) >= 0; }
  }
  function init() {
    document.querySelectorAll("[data-icb-panel]").forEach(function (panel) {
      update(panel);
      var module = panel.querySelector("[data-icb-module]");
      if (module) { module.addEventListener("change", function () { update(panel); }); }
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
