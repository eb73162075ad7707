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

  document.addEventListener("DOMContentLoaded", focusFirstError);
  document.addEventListener("htmx:afterSettle", focusFirstError);
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
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
