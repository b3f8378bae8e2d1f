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

  syncZoneCookie();
  document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
  // Content swapped in by htmx gets the same treatment.
  document.addEventListener("htmx:load", function (evt) {
    init(evt.target);
  });
})();
