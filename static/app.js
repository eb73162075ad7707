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
  window.addEventListener("beforeunload", function (event) {
    if (document.querySelector("form[data-unsaved-warning][data-dirty]")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  // Close an open menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
