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

  // Search-as-you-type choices (common/widgets.py SearchSelect): typing asks the list
  // API for the first matches; the arrow keys move through them, Enter or a click
  // chooses, Escape closes the list (and, closed, puts back the choice the box had).
  // The chosen id goes into the hidden input; the server checks it.
  var SEARCH_PAGE_SIZE = 20;
  function setupSearchSelect(root) {
    var input = root.querySelector("[role=combobox]");
    var hidden = root.querySelector("[data-search-value]");
    var list = root.querySelector("[role=listbox]");
    var status = root.querySelector(".search-select-status");
    var labelKey = root.getAttribute("data-item-label") || "name";
    var detailKey = root.getAttribute("data-item-detail") || "";
    var chosen = { id: hidden.value, label: input.value };
    var items = [], active = -1, timer = null, asked = 0;
    if (input.disabled) { return; }

    function labelOf(item) {
      var label = String(item[labelKey]);
      return detailKey && item[detailKey] ? label + " (" + item[detailKey] + ")" : label;
    }
    function say(text) { status.textContent = text; }
    function setActive(index) {
      var options = list.querySelectorAll("[role=option]");
      active = options.length ? (index + options.length) % options.length : -1;
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      if (active >= 0) {
        input.setAttribute("aria-activedescendant", options[active].id);
        options[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }
    function close() {
      clearTimeout(timer);
      asked += 1;  // an answer still on its way is not shown
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }
    function show(found, count, text) {
      items = found;
      list.textContent = "";
      found.forEach(function (item, i) {
        var option = document.createElement("li");
        option.setAttribute("role", "option");
        option.id = list.id + "-" + i;
        option.setAttribute("aria-selected", "false");
        option.textContent = String(item[labelKey]);
        if (detailKey && item[detailKey]) {
          var detail = document.createElement("span");
          detail.className = "muted mono";
          detail.textContent = item[detailKey];
          option.appendChild(document.createTextNode(" "));
          option.appendChild(detail);
        }
        if (String(item.id) === hidden.value) { option.classList.add("is-current"); }
        list.appendChild(option);
      });
      list.hidden = !found.length;
      input.setAttribute("aria-expanded", found.length ? "true" : "false");
      active = -1;
      input.removeAttribute("aria-activedescendant");
      if (!found.length) {
        say(text ? "Nothing matches “" + text + "”." : "Nothing to choose from.");
      } else if (count > found.length) {
        say("The first " + found.length + " of " + count.toLocaleString("en-US") +
            (text ? " matches: type more to narrow them." : ": type to search."));
      } else {
        say(found.length === 1 ? "1 match." : found.length + " matches.");
      }
    }
    function search() {
      // The box showing its chosen account lists from the top (its label is no search).
      var text = hidden.value && input.value === chosen.label ? "" : input.value.trim();
      var ticket = ++asked;
      var params = new URLSearchParams({ q: text, page_size: String(SEARCH_PAGE_SIZE) });
      say("Searching…");
      fetch(root.getAttribute("data-search-url") + "?" + params.toString(), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error(body.detail || "the server answered " + response.status); }
          return body;
        });
      }).then(function (body) {
        if (ticket === asked && document.activeElement === input) {
          show(body.items || [], body.count || 0, text);
        }
      }).catch(function (error) {
        if (ticket === asked) { close(); say("Could not search: " + error.message); }
      });
    }
    function searchSoon() { clearTimeout(timer); timer = setTimeout(search, 150); }
    function choose(index) {
      var item = items[index];
      if (!item) { return; }
      hidden.value = String(item.id);
      input.value = labelOf(item);
      chosen = { id: hidden.value, label: input.value };
      close();
      say("");
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
    }

    input.addEventListener("input", function () {
      hidden.value = "";  // typed text is not a choice until one is picked
      searchSoon();
    });
    input.addEventListener("click", function () {
      if (!list.hidden) { return; }
      if (hidden.value && input.value === chosen.label) { input.select(); }  // typing replaces it
      search();
    });
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!open) { search(); return; }
        setActive(event.key === "ArrowDown" ? active + 1 : (active < 0 ? -1 : active - 1));
      } else if (event.key === "Enter") {
        if (open) {
          event.preventDefault();  // Enter in an open list chooses, it never submits
          if (active >= 0) { choose(active); } else if (items.length === 1) { choose(0); }
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault(); close(); say("");
        } else if (hidden.value !== chosen.id || input.value !== chosen.label) {
          event.preventDefault();
          hidden.value = chosen.id; input.value = chosen.label; say("");
        }
      } else if (event.key === "Tab") {
        close();
      }
    });
    input.addEventListener("blur", function () {
      close();
      say(input.value.trim() && !hidden.value ? "Nothing chosen yet: choose one from the list." : "");
    });
    // A press on an option keeps the focus in the box, so the blur does not close first.
    list.addEventListener("mousedown", function (event) { event.preventDefault(); });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (option) { choose(Array.prototype.indexOf.call(list.children, option)); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-search-select]").forEach(setupSearchSelect);
  });

  window.ICB = { selectTab: selectTab };

  // Links with data-inline-preview="id" fetch their page's fragment (a sync preview)
  // and show it in the element with that id; without script they open as a page.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-inline-preview]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var target = document.getElementById(link.getAttribute("data-inline-preview"));
    if (!target) { return; }
    event.preventDefault();
    link.setAttribute("aria-busy", "true");
    target.innerHTML = '<p class="muted" role="status">Reading the hub…</p>';
    fetch(link.href, {
      credentials: "same-origin", headers: { "X-Requested-With": "icb-inline" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("the server answered " + response.status); }
      return response.text();
    }).then(function (html) {
      target.innerHTML = html;
    }).catch(function (error) {
      target.innerHTML = "";
      var p = document.createElement("p");
      p.className = "form-error";
      p.setAttribute("role", "alert");
      p.textContent = "Could not preview: " + error.message;
      target.appendChild(p);
    }).then(function () { link.removeAttribute("aria-busy"); });
  });
})();
