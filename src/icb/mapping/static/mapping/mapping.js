// Organization mapping: the picker of a cell, chips, Save, the column chooser.
// Used by the mapping page and by an account's ITC Integrations Mapping section.
// Every [data-mapping-root] holds cells ([data-cell]); changes are kept as deltas per
// cell (organizations to add and to remove) and saved all at once.
(function () {
  "use strict";
  if (window.ICBMapping) { return; }  // the script may be included twice on a page

  var SEARCH_DELAY = 200;
  var roots = [];
  var skipUnloadWarning = false;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] === true) { node.setAttribute(key, ""); }
      else if (attrs[key] !== false && attrs[key] != null) { node.setAttribute(key, attrs[key]); }
    });
    if (text != null) { node.textContent = text; }
    return node;
  }

  function statusLabel(status) {
    return status.charAt(0).toUpperCase() + status.slice(1);
  }

  // --- a cell: baseline (as saved) and current organizations -----------------------------

  // A chip as the page renders it (mapping/_cell.html): the id, the name, and a status
  // or removal only when there is one, so the markup stays small.
  function readOrg(li) {
    return {
      id: li.getAttribute("data-org-id"), name: li.querySelector(".chip-name").textContent,
      status: li.getAttribute("data-org-status") || "active",
      removed: li.classList.contains("is-removed")
    };
  }

  function Cell(root, node) {
    this.root = root;
    this.node = node;
    this.accountId = parseInt(node.getAttribute("data-account-id"), 10);
    this.accountName = node.getAttribute("data-account-name");
    this.module = node.getAttribute("data-module");
    this.moduleName = node.getAttribute("data-module-name");
    this.current = [];
    var self = this;
    node.querySelectorAll("li[data-org-id]").forEach(function (li) { self.current.push(readOrg(li)); });
    this.baseline = this.current.map(function (o) { return o.id; });
    // The page sends chips without their remove buttons (they cannot work without this
    // script anyway); rendering adds them.
    if (root.canModify && this.current.length) { this.render(); }
  }

  Cell.prototype.has = function (id) {
    return this.current.some(function (o) { return o.id === id; });
  };

  Cell.prototype.delta = function () {
    var now = this.current.map(function (o) { return o.id; });
    var base = this.baseline;
    return {
      add: now.filter(function (id) { return base.indexOf(id) < 0; }),
      remove: base.filter(function (id) { return now.indexOf(id) < 0; })
    };
  };

  Cell.prototype.toggle = function (org) {
    if (this.has(org.id)) {
      this.current = this.current.filter(function (o) { return o.id !== org.id; });
    } else {
      this.current.push({ id: org.id, name: org.name, status: org.status, removed: org.removed });
    }
    this.render();
    this.root.changed();
  };

  Cell.prototype.opener = function () {
    return this.node.querySelector("[data-open-picker]");
  };

  Cell.prototype.render = function () {
    var self = this;
    var canModify = this.root.canModify;
    var delta = this.delta();
    var list = el("ul", { "class": "chips",
      "aria-label": this.moduleName + " organizations of " + this.accountName });
    this.current.forEach(function (org) {
      var cls = "chip" + (org.removed ? " is-removed" : "") +
        (org.status !== "active" ? " is-inactive" : "") +
        (delta.add.indexOf(org.id) >= 0 ? " is-new" : "");
      var li = el("li", { "class": cls, "data-org-id": org.id,
        "data-org-status": org.status !== "active" ? org.status : null });
      li.appendChild(el("span", { "class": "chip-name" }, org.name));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(el("span", { "class": "mono muted" }, org.id));
      if (org.removed) {
        li.appendChild(el("span", { "class": "badge error" }, "Removed from " + self.root.hubName));
      }
      if (org.status !== "active") {
        li.appendChild(el("span", { "class": "badge warn" }, statusLabel(org.status)));
      }
      if (canModify) {
        li.appendChild(el("button", { type: "button", "class": "chip-remove", "data-remove": true,
          "aria-label": "Remove " + org.name + " (" + org.id + ")" }, "×"));
      }
      list.appendChild(li);
    });
    var removedCount = delta.remove.length;
    var old = this.node.querySelector("ul.chips");
    this.node.replaceChild(list, old);
    var note = this.node.querySelector(".cell-pending");
    if (note) { note.remove(); }
    if (removedCount) {
      this.node.appendChild(el("span", { "class": "cell-pending muted" },
        removedCount + " to remove when saved"));
    }
    var opener = this.opener();
    if (opener) {
      var empty = this.current.length === 0;
      opener.textContent = empty ? "Not mapped" : "+ Add";
      opener.classList.toggle("is-empty", empty);
      opener.setAttribute("aria-label", (empty ? "Not mapped" : "Add organization") + ": " +
        this.moduleName + " for " + this.accountName);
    } else {
      var text = this.node.querySelector(".not-mapped");
      if (text) { text.hidden = this.current.length > 0; }
    }
  };

  // --- a root: the cells of a page or section, Save ---------------------------------------

  function Root(node) {
    var self = this;
    this.node = node;
    this.canModify = node.hasAttribute("data-can-modify");
    this.csrf = node.getAttribute("data-csrf");
    this.hubName = node.getAttribute("data-hub-name") || "the hub";
    this.changesUrl = node.getAttribute("data-changes-url");
    this.organizationsUrl = node.getAttribute("data-organizations-url");
    this.saveButton = node.querySelector("[data-mapping-save]");
    this.status = node.querySelector("[data-mapping-status]");
    this.error = node.querySelector("[data-mapping-error]");
    this.cells = [];
    node.querySelectorAll("[data-cell]").forEach(function (c) { self.cells.push(new Cell(self, c)); });
    if (!this.canModify) { return; }
    node.addEventListener("click", function (event) {
      var remove = event.target.closest("[data-remove]");
      if (remove) {
        var cell = self.cellOf(remove);
        var li = remove.closest("li[data-org-id]");
        cell.toggle(readOrg(li));
        var opener = cell.opener();
        if (opener) { opener.focus(); }
        return;
      }
      var open = event.target.closest("[data-open-picker]");
      var cellNode = event.target.closest("[data-cell]");
      if (open || (cellNode && !event.target.closest("button, a"))) {
        picker.open(self.cellOf(open || cellNode));
      }
    });
    if (this.saveButton) {
      this.saveButton.addEventListener("click", function () { self.save(); });
    }
  }

  Root.prototype.cellOf = function (node) {
    var cellNode = node.closest("[data-cell]");
    for (var i = 0; i < this.cells.length; i++) {
      if (this.cells[i].node === cellNode) { return this.cells[i]; }
    }
    return null;
  };

  Root.prototype.changes = function () {
    var changes = [];
    this.cells.forEach(function (cell) {
      var delta = cell.delta();
      if (delta.add.length || delta.remove.length) {
        changes.push({ account_id: cell.accountId, module: cell.module,
                       add: delta.add, remove: delta.remove });
      }
    });
    return changes;
  };

  Root.prototype.dirty = function () { return this.changes().length > 0; };

  Root.prototype.changed = function () {
    var count = this.changes().length;
    if (this.saveButton) { this.saveButton.disabled = count === 0; }
    this.say(count ? "Unsaved changes in " + count + " cell" + (count === 1 ? "" : "s") + "." : "");
  };

  Root.prototype.say = function (message, isError) {
    if (this.status) { this.status.textContent = isError ? "" : message; }
    if (this.error) {
      this.error.hidden = !isError;
      this.error.textContent = isError ? message : "";
    }
  };

  // Where this page shows an organization of a module, if anywhere: the cell's account.
  Root.prototype.localOwner = function (module, orgId) {
    for (var i = 0; i < this.cells.length; i++) {
      var cell = this.cells[i];
      if (cell.module === module && cell.has(orgId)) { return cell; }
    }
    return null;
  };

  Root.prototype.cellFor = function (module, accountId) {
    for (var i = 0; i < this.cells.length; i++) {
      var c = this.cells[i];
      if (c.module === module && c.accountId === accountId) { return c; }
    }
    return null;
  };

  Root.prototype.save = function () {
    var self = this;
    var changes = this.changes();
    if (!changes.length) { this.say("Nothing to save."); return; }
    this.saveButton.disabled = true;
    this.say("Saving…");
    fetch(this.changesUrl, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf,
                 "Accept": "application/json" },
      body: JSON.stringify({ changes: changes })
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        return { ok: response.ok, status: response.status, body: body };
      });
    }).then(function (answer) {
      self.cells.forEach(function (cell) { cell.node.classList.remove("is-error"); });
      if (!answer.ok) {
        self.saveButton.disabled = false;
        self.say((answer.body && answer.body.detail) ||
          "The mapping could not be saved (error " + answer.status + "). Nothing was saved.", true);
        self.markErrors(changes, (answer.body && answer.body.errors) || {});
        return;
      }
      (answer.body.items || []).forEach(function (item) {
        self.cells.forEach(function (cell) {
          if (cell.accountId !== item.account.id || !item.mappings[cell.module]) { return; }
          cell.current = item.mappings[cell.module].slice();
          cell.baseline = cell.current.map(function (o) { return o.id; });
          cell.render();
        });
      });
      self.changed();
      self.say("Organization mapping saved.");
      self.refreshHistory();
    }).catch(function () {
      self.saveButton.disabled = false;
      self.say("The server could not be reached. Nothing was saved; try again.", true);
    });
  };

  // The account section's "Recent mapping changes": read again from the page as the
  // server renders it now (the same words and times as on a fresh load), kept open.
  Root.prototype.refreshHistory = function () {
    var history = this.node.querySelector("[data-mapping-history]");
    if (!history) { return; }
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html")
          .querySelector("[data-mapping-history]");
        if (!fresh) { return; }
        var list = history.querySelector("ul");
        list.replaceWith(document.importNode(fresh.querySelector("ul"), true));
        history.hidden = fresh.hidden;
      }).catch(function () { /* the list stays as it was; the save itself succeeded */ });
  };

  // Errors name fields like "changes.3.add": outline the cells they are about.
  Root.prototype.markErrors = function (changes, errors) {
    var self = this;
    Object.keys(errors).forEach(function (field) {
      var match = /^changes\.(\d+)\./.exec(field);
      var change = match && changes[parseInt(match[1], 10)];
      if (!change) { return; }
      self.cells.forEach(function (cell) {
        if (cell.accountId === change.account_id && cell.module === change.module) {
          cell.node.classList.add("is-error");
        }
      });
    });
  };

  // --- the picker: a labelled search box and a listbox of the module's organizations -------

  var picker = {
    node: null, cell: null, items: [], active: -1, timer: null, cursor: null, query: "",
    request: 0,

    build: function () {
      var self = this;
      var node = el("div", { "class": "map-picker", id: "map-picker", hidden: true });
      var label = el("label", { "for": "map-picker-search", id: "map-picker-label" });
      var input = el("input", { type: "search", id: "map-picker-search", role: "combobox",
        "aria-controls": "map-picker-list", "aria-expanded": "true",
        "aria-autocomplete": "list", autocomplete: "off",
        placeholder: "Name or id" });
      var list = el("ul", { role: "listbox", id: "map-picker-list",
        "aria-multiselectable": "true" });
      var info = el("p", { "class": "map-picker-info muted", "aria-live": "polite" });
      var foot = el("div", { "class": "map-picker-foot" });
      var more = el("button", { type: "button", hidden: true }, "Show more");
      var done = el("button", { type: "button" }, "Done");
      foot.appendChild(more);
      foot.appendChild(done);
      [label, input, list, info, foot].forEach(function (n) { node.appendChild(n); });
      document.body.appendChild(node);
      this.node = node; this.input = input; this.list = list; this.info = info;
      this.more = more; this.label = label;

      input.addEventListener("input", function () {
        clearTimeout(self.timer);
        self.timer = setTimeout(function () { self.load(false); }, SEARCH_DELAY);
      });
      input.addEventListener("keydown", function (event) { self.key(event); });
      list.addEventListener("mousedown", function (event) { event.preventDefault(); });
      list.addEventListener("click", function (event) {
        var option = event.target.closest("[role=option]");
        if (option) { self.choose(parseInt(option.getAttribute("data-index"), 10)); }
      });
      more.addEventListener("click", function () { self.load(true); });
      done.addEventListener("click", function () { self.close(true); });
      document.addEventListener("mousedown", function (event) {
        if (!self.node.hidden && !self.node.contains(event.target) &&
            !(self.cell && self.cell.node.contains(event.target))) {
          self.close(false);
        }
      });
      window.addEventListener("resize", function () { self.place(); });
    },

    open: function (cell) {
      if (!this.node) { this.build(); }
      this.cell = cell;
      this.label.textContent = "Search " + cell.moduleName + " organizations for " + cell.accountName;
      this.list.setAttribute("aria-label", cell.moduleName + " organizations");
      this.input.value = "";
      this.items = [];
      this.list.innerHTML = "";
      this.node.hidden = false;
      this.place();
      cell.opener().setAttribute("aria-expanded", "true");
      this.input.focus();
      this.load(false);
    },

    place: function () {
      if (!this.cell || this.node.hidden) { return; }
      var rect = this.cell.node.getBoundingClientRect();
      var width = Math.max(rect.width, 340);
      var left = Math.min(rect.left + window.scrollX, window.scrollX + document.documentElement.clientWidth - width - 8);
      this.node.style.left = Math.max(8, left) + "px";
      this.node.style.top = (rect.bottom + window.scrollY + 4) + "px";
      this.node.style.width = width + "px";
    },

    close: function (refocus) {
      if (!this.node || this.node.hidden) { return; }
      this.node.hidden = true;
      clearTimeout(this.timer);
      var opener = this.cell && this.cell.opener();
      if (opener) {
        opener.setAttribute("aria-expanded", "false");
        if (refocus) { opener.focus(); }
      }
      this.cell = null;
    },

    load: function (append) {
      var self = this;
      var cell = this.cell;
      if (!cell) { return; }
      var params = new URLSearchParams({ module: cell.module, search: this.input.value.trim(),
                                         limit: "30" });
      if (append && this.cursor) { params.set("cursor", this.cursor); }
      var ticket = ++this.request;
      this.info.textContent = "Loading…";
      fetch(cell.root.organizationsUrl + "?" + params.toString(), {
        credentials: "same-origin", headers: { "Accept": "application/json" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      }).then(function (page) {
        if (ticket !== self.request || self.cell !== cell) { return; }  // a newer search won
        self.items = append ? self.items.concat(page.items) : page.items;
        self.cursor = page.next_cursor;
        self.more.hidden = !page.next_cursor;
        if (!append) { self.active = -1; }
        self.render();
      }).catch(function () {
        if (ticket === self.request) { self.info.textContent = "The organizations could not be loaded."; }
      });
    },

    // The other account that holds an organization as saved, unless this page removes it
    // from that account (a move, saved at once); "" if none.
    heldElsewhere: function (org) {
      var cell = this.cell;
      if (!org.mapped_to || org.mapped_to.id === cell.accountId) { return ""; }
      var holder = cell.root.cellFor(cell.module, org.mapped_to.id);
      if (holder && holder.baseline.indexOf(org.id) >= 0) { return ""; }
      return "Mapped to " + org.mapped_to.name;
    },

    // Why an organization cannot be picked for this cell, or "" if it can.
    blocked: function (org) {
      var cell = this.cell;
      if (cell.has(org.id)) { return ""; }
      var owner = cell.root.localOwner(cell.module, org.id);
      if (owner) { return "Mapped to " + owner.accountName + (owner.delta().add.indexOf(org.id) >= 0 ? " (unsaved)" : ""); }
      var elsewhere = this.heldElsewhere(org);
      if (elsewhere) { return elsewhere; }
      if (org.removed) { return "Removed from " + cell.root.hubName; }
      if (org.status !== "active") { return statusLabel(org.status) + ": cannot be mapped"; }
      return "";
    },

    render: function () {
      var self = this;
      this.list.innerHTML = "";
      this.items.forEach(function (org, index) {
        var selected = self.cell.has(org.id);
        var why = self.blocked(org);
        // Picked here but since mapped elsewhere by someone else: say so (Save would fail).
        var note = why || (selected ? self.heldElsewhere(org) : "");
        var option = el("li", { role: "option", id: "map-option-" + index, "data-index": index,
          "aria-selected": selected ? "true" : "false", "aria-disabled": why ? "true" : false,
          "class": "depth-" + Math.min(org.depth || 0, 3) + (index === self.active ? " is-active" : "") });
        option.appendChild(el("span", { "class": "option-name" }, org.name));
        option.appendChild(document.createTextNode(" "));
        option.appendChild(el("span", { "class": "mono muted" }, org.id));
        if (note) { option.appendChild(el("span", { "class": "option-note" }, note)); }
        self.list.appendChild(option);
      });
      if (this.active >= 0 && this.items[this.active]) {
        this.input.setAttribute("aria-activedescendant", "map-option-" + this.active);
      } else {
        this.input.removeAttribute("aria-activedescendant");
      }
      this.info.textContent = this.items.length ? this.items.length + " shown" +
        (this.cursor ? "; type to narrow or show more" : "") : "No organizations match.";
    },

    key: function (event) {
      var count = this.items.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        if (!count) { return; }
        var step = event.key === "ArrowDown" ? 1 : -1;
        this.active = this.active < 0 ? (step > 0 ? 0 : count - 1) : (this.active + step + count) % count;
        this.render();
        var node = document.getElementById("map-option-" + this.active);
        if (node && node.scrollIntoView) { node.scrollIntoView({ block: "nearest" }); }
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (this.active < 0 && count) { this.active = 0; }
        if (this.active >= 0) { this.choose(this.active); }
      } else if (event.key === "Escape") {
        event.preventDefault();
        this.close(true);
      } else if (event.key === "Tab") {
        this.close(false);
      }
    },

    choose: function (index) {
      var org = this.items[index];
      if (!org || !this.cell) { return; }
      var why = this.blocked(org);
      if (why) { this.info.textContent = org.name + ": " + why + "."; return; }
      this.active = index;
      this.cell.toggle(org);
      this.render();
      this.info.textContent = org.name + (this.cell.has(org.id) ? " added." : " removed.");
      this.place();
    }
  };

  // --- the column chooser (mapping page) -------------------------------------------------

  function setUpColumns(dialog) {
    var max = parseInt(dialog.getAttribute("data-max"), 10) || 3;
    var error = dialog.querySelector("[data-columns-error]");
    function boxes() { return Array.prototype.slice.call(dialog.querySelectorAll("[data-column]")); }
    function say(message) { error.textContent = message; error.hidden = !message; }
    dialog.addEventListener("change", function (event) {
      var box = event.target.closest("[data-column]");
      if (!box) { return; }
      var checked = boxes().filter(function (b) { return b.checked; });
      if (box.checked && checked.length > max) {
        box.checked = false;
        say("You can choose at most three columns. Clear one first.");
      } else {
        say("");
      }
    });
    function put(url, modules) {
      return fetch(url, {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": dialog.getAttribute("data-csrf"),
                   "Accept": "application/json" },
        body: JSON.stringify({ modules: modules })
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok) { throw new Error(body.detail || "The columns could not be stored."); }
          return body;
        });
      });
    }
    // Apply stores the user's own columns (none: the company's default). "Make the
    // company default" (administrators) stores the company's default, which every user
    // who chose none sees, and makes the administrator one of them.
    function store(asDefault) {
      var modules = boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
      if (modules.length > max) { say("You can choose at most three columns."); return; }
      if (anyDirty() && !window.confirm("Your unsaved mapping changes will be lost. Apply the columns anyway?")) {
        return;
      }
      var own = dialog.getAttribute("data-columns-url");
      var done = asDefault
        ? put(dialog.getAttribute("data-default-url"), modules).then(function () { return put(own, []); })
        : put(own, modules);
      done.then(function () {
        skipUnloadWarning = true;
        window.location.reload();
      }).catch(function (error) {
        say(error && error.message && error.message !== "Failed to fetch" ? error.message
            : "The server could not be reached.");
      });
    }
    dialog.querySelector("[data-columns-apply]").addEventListener("click", function () { store(false); });
    var setDefault = dialog.querySelector("[data-columns-set-default]");
    if (setDefault) {
      setDefault.addEventListener("click", function () { store(true); });
    }
  }

  function anyDirty() {
    return roots.some(function (r) { return r.canModify && r.dirty(); });
  }

  window.addEventListener("beforeunload", function (event) {
    if (!skipUnloadWarning && anyDirty()) {
      event.preventDefault();
      event.returnValue = "";
      return "";
    }
  });

  function init() {
    document.querySelectorAll("[data-mapping-root]").forEach(function (node) {
      roots.push(new Root(node));
    });
    document.querySelectorAll("[data-columns-dialog]").forEach(setUpColumns);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
  window.ICBMapping = { roots: roots, dirty: anyDirty };
})();
