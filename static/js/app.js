// Kiln's own script. Loaded with `defer`; the CSP forbids inline script, so everything lives here.
(function () {
  "use strict";

  // The viewer's IANA time zone, e.g. "Europe/Berlin".
  function browserZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      return "";
    }
  }

  function readCookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var kv = parts[i].split("=");
      if (kv[0] === name) return decodeURIComponent(kv.slice(1).join("="));
    }
    return "";
  }

  // The server renders dates in the zone named by the kiln_tz cookie (UTC until it is set).
  // Keep the cookie equal to the browser's zone; when it changes, reload once so every date on
  // the page is shown in the viewer's zone.
  function syncZoneCookie() {
    var zone = browserZone();
    if (!zone || readCookie("kiln_tz") === zone) return;
    document.cookie = "kiln_tz=" + encodeURIComponent(zone) + "; Path=/; Max-Age=31536000; SameSite=Lax";
    var key = "kiln_tz_reloaded";
    if (window.sessionStorage && !sessionStorage.getItem(key) && document.querySelector("[data-zone-sensitive]")) {
      sessionStorage.setItem(key, "1");
      window.location.reload();
    }
  }

  // Forms with a time zone field default it to the browser's zone when the server had no better
  // value (the field is empty).
  function fillZoneFields(root) {
    var zone = browserZone();
    if (!zone) return;
    root.querySelectorAll("input[data-browser-zone]").forEach(function (el) {
      if (!el.value) el.value = zone;
    });
  }

  // Flash messages can be dismissed.
  function wireFlashes(root) {
    root.querySelectorAll("[data-dismiss]").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var target = btn.closest(btn.getAttribute("data-dismiss"));
        if (target) target.remove();
      });
    });
  }

  function init(root) {
    fillZoneFields(root);
    wireFlashes(root);
  }

  // Live regions (a job's page, the overview) are swapped whole every 2 seconds. A keyboard
  // user's focus inside one would drop to <body> and the next Tab start over at "Skip to
  // content": remember what had focus and focus its counterpart in the new content.
  var pendingFocus = null;

  function focusSelector(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    var sel = el.tagName.toLowerCase();
    ["data-testid", "href", "name", "value"].forEach(function (attr) {
      var v = el.getAttribute(attr);
      if (v !== null) sel += "[" + attr + '="' + CSS.escape(v) + '"]';
    });
    return sel;
  }

  document.addEventListener("htmx:beforeSwap", function (evt) {
    pendingFocus = null;
    var region = evt.detail.target, active = document.activeElement;
    if (!region || !region.id || !active || active === document.body || !region.contains(active)) return;
    var sel = focusSelector(active);
    var same = Array.prototype.slice.call(region.querySelectorAll(sel));
    pendingFocus = { region: region.id, sel: sel, index: Math.max(0, same.indexOf(active)) };
  });

  document.addEventListener("htmx:afterSettle", function () {
    var p = pendingFocus;
    pendingFocus = null;
    if (!p) return;
    var region = document.getElementById(p.region);
    if (!region) return;
    var matches = region.querySelectorAll(p.sel);
    var el = matches[p.index] || matches[0];
    if (!el) { // gone (a button that no longer applies): keep focus in the region
      region.setAttribute("tabindex", "-1");
      el = region;
    }
    el.focus({ preventScroll: true });
  });

  // A job's page says politely when its state changes, instead of the region being read out.
  var lastJobState = null;
  function announceJobState() {
    var live = document.getElementById("job-live");
    var out = document.getElementById("live-announcer");
    if (!live || !out) return;
    var state = live.getAttribute("data-state");
    if (lastJobState !== null && state !== lastJobState) out.textContent = "The job is now " + state + ".";
    lastJobState = state;
  }
  document.addEventListener("htmx:afterSettle", announceJobState);

  syncZoneCookie();
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
    announceJobState();
  });
  // Content swapped in by htmx gets the same treatment.
  document.addEventListener("htmx:load", function (evt) {
    init(evt.target);
  });
})();
