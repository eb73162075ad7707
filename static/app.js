// Datacapt: the little the pages need beyond htmx. No inline scripts (the CSP forbids them).
(function () {
  "use strict";

  // After a failed save (or on a page that opens with errors), move focus to the error summary
  // so keyboard and screen-reader users land on what needs fixing.
  // The marker is used once: an element keeps no claim on focus after later swaps.
  function focusFirstError() {
    var target = document.querySelector("[data-focus-on-load]");
    if (target) {
      target.removeAttribute("data-focus-on-load");
      target.focus();
    }
  }

  // Errors htmx does not swap (403, 404, 5xx, network): say so in the one aria-live region.
  function announce(message) {
    var region = document.getElementById("status");
    if (!region || !message) { return; }
    var p = document.createElement("p");
    p.className = "flash flash-error";
    p.textContent = message;
    region.replaceChildren(p);
  }

  function messageFor(status) {
    var data = document.body.dataset;
    if (status === 403) { return data.messageForbidden; }
    if (status === 404) { return data.messageNotFound; }
    return data.messageError;
  }

  // A refused save of a long form: focus the first field the error summary names (the summary
  // is an alert, so it is read out all the same), not the top of the page.
  function focusFirstRefusedField() {
    var summary = document.querySelector("[data-focus-first-error]");
    if (!summary) { return; }
    summary.removeAttribute("data-focus-first-error");
    var link = summary.querySelector('a[href^="#"]');
    var target = link && document.getElementById(link.getAttribute("href").slice(1));
    if (target && target.matches("fieldset")) {
      target = target.querySelector("input:checked, input, select, textarea");
    }
    (target || summary).focus();
    if (target) { target.scrollIntoView({block: "center"}); }
  }

  // After a save the form comes back by a new page load: return to where the person was.
  var PLACE_KEY = "datacapt:form-place";
  document.addEventListener("submit", function (event) {
    if (event.target.id !== "entry-form") { return; }
    var place = {path: location.pathname, y: window.scrollY, at: Date.now()};
    try { sessionStorage.setItem(PLACE_KEY, JSON.stringify(place)); } catch (ignore) { }
  }, true);
  function returnToPlace() {
    var place = null;
    try {
      place = JSON.parse(sessionStorage.getItem(PLACE_KEY) || "null");
      sessionStorage.removeItem(PLACE_KEY);
    } catch (ignore) { }
    if (place && place.path === location.pathname && Date.now() - place.at < 30000 &&
        !document.querySelector("[data-focus-on-load], [data-focus-first-error]")) {
      window.scrollTo(0, place.y);
    }
  }

  // History out of the Tab order (one stop per question): Alt+Shift+H opens or closes the
  // history of the question holding the focus.
  document.addEventListener("keydown", function (event) {
    if (!(event.altKey && event.shiftKey && event.code === "KeyH")) { return; }
    var active = document.activeElement;
    var item = active && active.closest && active.closest(".ecrf-item");
    var details = item && item.querySelector("details.history-toggle");
    if (!details) { return; }
    event.preventDefault();
    if (details.open) {
      details.open = false;
      var answer = item.querySelector("input:not([type=hidden]), select, textarea");
      if (answer) { answer.focus(); }
    } else {
      details.open = true;
      details.querySelector("summary").focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    returnToPlace();
    focusFirstError();
    focusFirstRefusedField();
  });
  document.addEventListener("htmx:afterSettle", function () {
    focusFirstError();
    focusFirstRefusedField();
  });
  document.addEventListener("htmx:responseError", function (event) {
    announce(messageFor(event.detail.xhr.status));
  });
  document.addEventListener("htmx:sendError", function () {
    announce(document.body.dataset.messageOffline);
  });

  // A form re-evaluated by the server (branching, checks): show, hide and flag what it says,
  // without touching any input, so nothing typed meanwhile is lost.
  document.addEventListener("datacapt:form-state", function (event) {
    var state = event.detail;
    function each(ids, action) {
      (ids || []).forEach(function (id) {
        var element = document.getElementById(id);
        if (element) { action(element); }
      });
    }
    each(state.hidden, function (element) { element.hidden = true; });
    each(state.shown, function (element) { element.hidden = false; });
    each(state.invalid, function (element) { element.setAttribute("aria-invalid", "true"); });
    each(state.valid, function (element) { element.removeAttribute("aria-invalid"); });
  });

  // An evaluation answers about the fields it was sent from (its target). When a save's answer
  // replaced them meanwhile (the field left by clicking Save, a file just chosen), it would wipe
  // the messages of that answer: it is dropped. Its events no longer reach the document, hence
  // a listener on each evaluating element.
  function dropOnceReplaced(event) {
    if (!document.body.contains(event.currentTarget)) { event.detail.shouldSwap = false; }
  }
  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    var found = Array.prototype.slice.call(root.querySelectorAll(".ecrf-fields[hx-post]"));
    if (root.matches(".ecrf-fields[hx-post]")) { found.push(root); }
    found.forEach(function (fields) {
      fields.addEventListener("htmx:beforeSwap", dropOnceReplaced);
    });
  });

  // Date items: a calendar and a "Today" button write the date in the item's own order
  // (data-date-format), "today" being the user's day as the server says it (data-today).
  var DATE_ORDERS = { dmy: ["d", "m", "y"], mdy: ["m", "d", "y"], ymd: ["y", "m", "d"] };
  function writeDate(tools, iso) {
    var input = tools && document.getElementById(tools.dataset.dateFor);
    if (!input || !/^\d{4}-\d{2}-\d{2}$/.test(iso || "")) { return; }
    var pieces = iso.split("-");
    var parts = { y: pieces[0], m: pieces[1], d: pieces[2] };
    var format = DATE_ORDERS[tools.dataset.dateFormat] ? tools.dataset.dateFormat : "ymd";
    input.value = DATE_ORDERS[format].map(function (key) { return parts[key]; })
      .join(format === "ymd" ? "-" : "/");
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".date-today");
    if (!button) { return; }
    var holder = button.closest("[data-today]");
    writeDate(button.closest(".date-tools"), holder && holder.dataset.today);
  });
  // The calendar's own change never reaches htmx: the text input's change (written above) does.
  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.classList || !picker.classList.contains("date-picker")) { return; }
    event.stopPropagation();
    writeDate(picker.closest(".date-tools"), picker.value);
  }, true);

  // An expression's check answers about the text it was sent: when the text was edited while it
  // ran, its answer is stale and is dropped (the edit starts a check of its own).
  document.addEventListener("htmx:configRequest", function (event) {
    var field = event.detail.elt;
    if (field.hasAttribute && field.hasAttribute("data-expression-check")) {
      field.dataset.checking = field.value;
    }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var field = event.detail.requestConfig && event.detail.requestConfig.elt;
    if (field && field.hasAttribute && field.hasAttribute("data-expression-check")
        && field.value !== field.dataset.checking) {
      event.detail.shouldSwap = false;
    }
  });

  // An exclusive checkbox ("None of these") and the other options of its question untick each
  // other. Captured before htmx's own listener, so the re-evaluation sees the boxes as left.
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.checked || !box.closest) { return; }
    var group = box.closest("fieldset");
    if (!group || !group.querySelector("input[data-exclusive]")) { return; }
    group.querySelectorAll('input[type="checkbox"]').forEach(function (other) {
      if (other !== box && other.name === box.name &&
          (box.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive"))) {
        other.checked = false;
      }
    });
  }, true);

  // Buttons that destroy something ask first (data-confirm), with or without htmx.
  document.addEventListener("submit", function (event) {
    if (event.defaultPrevented) { return; }  // htmx took it: htmx:confirm below asks
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:confirm", function (event) {
    var button = event.detail.elt.querySelector && event.detail.elt.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // Leaving a form with unsaved changes asks first (forms marked data-unsaved-warning).
  document.addEventListener("input", function (event) {
    var form = event.target.closest && event.target.closest("form[data-unsaved-warning]");
    if (form) { form.dataset.dirty = "1"; }
  });
  document.addEventListener("submit", function (event) {
    if (event.target.dataset) { delete event.target.dataset.dirty; }
  }, true);
  // An htmx request from outside such a form whose answer replaces it (another block's editor,
  // a move, a link) asks the same question first; the form's own requests (save, checks) pass.
  document.addEventListener("htmx:confirm", function (event) {
    var dirty = document.querySelector("form[data-unsaved-warning][data-dirty]");
    var target = event.detail.target;
    if (!dirty || dirty.contains(event.detail.elt) || !(target && target.contains(dirty))) {
      return;
    }
    if (window.confirm(dirty.getAttribute("data-unsaved-warning"))) {
      delete dirty.dataset.dirty;
    } else {
      event.preventDefault();
    }
  });
  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector("form[data-unsaved-warning][data-dirty]")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // A query thread opens beside the question it is about (the form and its queries side by
  // side on wide screens) and takes the focus, so the reader lands in it.
  var queryQuestion = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var badge = event.detail.elt;
    if (badge && badge.classList && badge.classList.contains("query-badge")) {
      queryQuestion = badge.closest(".ecrf-item, .form-meta");
    }
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var panel = event.detail.target;
    if (!panel || panel.id !== "query-panel") { return; }
    panel.style.marginTop = "0px";
    var beside = window.getComputedStyle(panel.parentElement).display === "grid";
    if (queryQuestion && beside) {
      var offset = queryQuestion.getBoundingClientRect().top - panel.getBoundingClientRect().top;
      panel.style.marginTop = Math.max(0, offset) + "px";
    }
    var content = document.getElementById("query-panel-content");
    if (content) { content.focus(); }
  });

  // Close an open menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var openMenus = document.querySelectorAll("details.menu[open]");
    openMenus.forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
    var header = document.querySelector(".site-header.nav-open");
    if (header && !openMenus.length) { toggleNavigation(header, false).focus(); }
  });

  // Narrow screens: the header's menus collapse behind one button (the CSS shows it only
  // there). Without this script the header wraps instead, so nothing is ever out of reach.
  function toggleNavigation(header, open) {
    var button = header.querySelector(".menu-toggle");
    header.classList.toggle("nav-open", open);
    button.setAttribute("aria-expanded", open ? "true" : "false");
    return button;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var header = document.querySelector(".site-header");
    var button = header && header.querySelector(".menu-toggle");
    if (!button) { return; }
    header.classList.add("collapsible");
    button.addEventListener("click", function () {
      toggleNavigation(header, !header.classList.contains("nav-open"));
    });
  });

  // Sessions. Two minutes before the idle timeout a dialog offers to stay signed in. A request
  // that meets an ended session (401 with Datacapt-Sign-In) is held here, in memory only, while
  // the user signs in again in the same dialog; then it is sent again with the new CSRF token,
  // so nothing typed is lost. Only for the same user: if someone else signs in, what this page
  // holds is dropped and the page reloaded under their name.
  var WARN_BEFORE_MS = 120000;
  var pending = [];
  var idleTimers = [];
  var ended = false;

  function sessionDialog() { return document.getElementById("session-dialog"); }

  function showPanel(dialog, name) {
    dialog.querySelectorAll("[data-panel]").forEach(function (panel) {
      panel.hidden = panel.dataset.panel !== name;
    });
    dialog.setAttribute(
      "aria-labelledby", name === "warning" ? "session-warning-title" : "session-ended-title"
    );
    if (!dialog.open) { dialog.showModal(); }
  }

  function armIdleTimers() {
    var dialog = sessionDialog();
    idleTimers.forEach(clearTimeout);
    idleTimers = [];
    if (!dialog || ended) { return; }
    var idle = Number(dialog.dataset.idleSeconds) * 1000;
    idleTimers.push(setTimeout(function () {
      showPanel(dialog, "warning");
      dialog.querySelector("[data-stay-signed-in]").focus();
    }, Math.max(0, idle - WARN_BEFORE_MS)));
    idleTimers.push(setTimeout(signInAgain, idle));
  }

  function signInAgain() {
    var dialog = sessionDialog();
    ended = true;
    idleTimers.forEach(clearTimeout);
    showPanel(dialog, "sign-in");
    htmx.ajax("GET", dialog.dataset.signInAgain, { target: "#sign-in-again", swap: "outerHTML" });
  }

  function sessionEnded(config, signInPage) {
    var dialog = sessionDialog();
    if (!dialog) {  // a page that cannot sign in in place
      window.location.assign(signInPage);
      return;
    }
    if (config && !dialog.contains(config.elt)) {
      pending = pending.filter(function (held) { return held.elt !== config.elt; });
      pending.push({ elt: config.elt, verb: config.verb, path: config.path, formData: config.formData });
    }
    signInAgain();
  }

  // Not an error to report: the session ended, and the request waits for the user to sign in.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var signInPage = xhr.getResponseHeader("Datacapt-Sign-In");
    if (xhr.status !== 401 || !signInPage) { return; }
    event.detail.shouldSwap = false;
    event.detail.isError = false;
    sessionEnded(event.detail.requestConfig, signInPage);
  });

  function renewCsrfToken(token) {
    var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    headers["X-CSRF-Token"] = token;
    document.body.setAttribute("hx-headers", JSON.stringify(headers));
    document.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
      input.value = token;
    });
  }

  function replay(token) {
    var held = pending;
    pending = [];
    held.forEach(function (request) {
      if (!request.elt.isConnected) { return; }
      var values = new FormData();
      request.formData.forEach(function (value, name) {
        values.append(name, name === "csrf_token" ? token : value);
      });
      htmx.ajax(request.verb, request.path, { source: request.elt, values: values });
    });
  }

  document.addEventListener("datacapt:signed-in", function (event) {
    var dialog = sessionDialog();
    ended = false;
    if (String(event.detail.user) !== document.body.dataset.user) {
      pending = [];
      document.querySelectorAll("form[data-dirty]").forEach(function (form) {
        delete form.dataset.dirty;
      });
      window.location.reload();
      return;
    }
    renewCsrfToken(event.detail.csrfToken);
    if (dialog && dialog.open) { dialog.close(); }
    armIdleTimers();
    replay(event.detail.csrfToken);
  });

  // Any answer from the server restarts the idle count; “Stay signed in” also closes the dialog.
  document.addEventListener("htmx:afterRequest", function (event) {
    if (!event.detail.successful || ended) { return; }
    armIdleTimers();
    var dialog = sessionDialog();
    if (dialog && dialog.open && event.detail.elt.hasAttribute("data-stay-signed-in")) {
      dialog.close();
    }
  });
  document.addEventListener("DOMContentLoaded", armIdleTimers);
  // The sign-in form arrived in the dialog: focus its first field, unless its error already
  // took the focus (focusFirstError).
  document.addEventListener("htmx:afterSettle", function (event) {
    var dialog = sessionDialog();
    var active = document.activeElement;
    if (!dialog || !dialog.contains(event.detail.elt)) { return; }
    if (active && active !== dialog && dialog.contains(active)) { return; }
    var field = dialog.querySelector("[data-autofocus]");
    if (field) { field.focus(); }
  });
})();
