// ICB: small progressive enhancements shared by every page (no framework, no build).
(function () {
  "use strict";

  // Dialogs: <button data-open-dialog="id"> opens <dialog id="id">; [data-close-dialog] closes.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && !dialog.open) { dialog.showModal(); }
      return;
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var d = closer.closest("dialog");
      if (d) { d.close(); }
    }
  });

  // A dialog rendered with data-open-on-load (e.g. after a validation error) opens at once.
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("dialog[data-open-on-load]").forEach(function (d) {
      if (!d.open) { d.showModal(); }
    });
  });

  // Forms with data-confirm ask first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  }, true);

  // Tabs: role=tablist with buttons aria-controls=panel id; arrow keys move between tabs.
  function selectTab(tab) {
    var list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach(function (t) {
      var selected = t === tab;
      t.setAttribute("aria-selected", selected ? "true" : "false");
      t.tabIndex = selected ? 0 : -1;
      var panel = document.getElementById(t.getAttribute("aria-controls"));
      if (panel) { panel.hidden = !selected; }
    });
  }
  document.addEventListener("click", function (event) {
    var tab = event.target.closest("[role=tab][aria-controls]");
    if (tab) { event.preventDefault(); selectTab(tab); }
  });
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[role=tab][aria-controls]");
    if (!tab || (event.key !== "ArrowRight" && event.key !== "ArrowLeft")) { return; }
    var tabs = Array.prototype.slice.call(tab.closest("[role=tablist]").querySelectorAll("[role=tab]"));
    var next = tabs[(tabs.indexOf(tab) + (event.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    selectTab(next); next.focus();
  });

  // Printing shows every breakdown of a synced number open; icb.css does it where the
  // browser styles ::details-content, this everywhere else. Closed again afterwards.
  var openedForPrint = [];
  window.addEventListener("beforeprint", function () {
    document.querySelectorAll("details.breakdown:not([open])").forEach(function (d) {
      d.open = true; openedForPrint.push(d);
    });
  });
  window.addEventListener("afterprint", function () {
    openedForPrint.forEach(function (d) { d.open = false; });
    openedForPrint = [];
  });

  window.ICB = { selectTab: selectTab };
})();
