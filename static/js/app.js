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
  // Keep the cookie equal to the browser's zone; when it was not, this page came in another
  // zone: rewrite its dates in the browser's own, with no second load. The next request (a
  // live update included) comes back in the right zone from the server.
  var pageZone = null; // set when this page's dates must be rewritten
  function syncZoneCookie() {
    var zone = browserZone();
    if (!zone || readCookie("kiln_tz") === zone) return;
    document.cookie = "kiln_tz=" + encodeURIComponent(zone) + "; Path=/; Max-Age=31536000; SameSite=Lax";
    pageZone = zone;
  }

  // Names as Go writes them ("Sep", not the "Sept" some browsers use).
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var DAYS = { Mon: "Mon", Tue: "Tue", Wed: "Wed", Thu: "Thu", Fri: "Fri", Sat: "Sat", Sun: "Sun" };
  function parts(date, zone, withSeconds) {
    var opts = { weekday: "short", day: "numeric", month: "numeric", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
    if (withSeconds) { opts.second = "2-digit"; opts.timeZoneName = "short"; }
    var out = {};
    new Intl.DateTimeFormat("en-US", opts).formatToParts(date).forEach(function (p) { out[p.type] = p.value; });
    out.month = MONTHS[Number(out.month) - 1];
    out.weekday = DAYS[out.weekday] || out.weekday;
    return out;
  }

  // localizeTimes shows the server's times in zone, in the form each one's data-local names:
  // "exact" is "Mon 2 Jan 2006, 15:04", "clock" "15:04:05.000" (a job's log lines); "relative"
  // ("3 min ago", the jobs list) keeps its text, which no zone changes, and gets the tooltip.
  function localizeTimes(root, zone) {
    if (!zone) return;
    root.querySelectorAll("time[data-local][datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (isNaN(d)) return;
      try {
        var p = parts(d, zone, false), f = parts(d, zone, true);
        var day = p.weekday + " " + p.day + " " + p.month + " " + p.year + ", ";
        var full = f.weekday + " " + f.day + " " + f.month + " " + f.year + ", " + f.hour + ":" + f.minute + ":" + f.second + " " + f.timeZoneName;
        switch (el.getAttribute("data-local")) {
          case "exact": el.textContent = day + p.hour + ":" + p.minute; break;
          case "clock": el.textContent = f.hour + ":" + f.minute + ":" + f.second + "." + String(d.getUTCMilliseconds()).padStart(3, "0"); break;
          case "relative": break;
          default: return;
        }
        el.title = full + " = " + d.toISOString().slice(11, 19) + " UTC";
      } catch (e) { /* an unknown zone: leave the server's text */ }
    });
    root.querySelectorAll("[data-zone-name]").forEach(function (el) { el.textContent = zone; });
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

  // On a phone the dashboard's pages are one line that scrolls sideways: bring the current
  // page's link into view.
  function revealCurrentPage(root) {
    root.querySelectorAll(".subnav [aria-current=page]").forEach(function (el) {
      var nav = el.parentElement;
      var right = el.offsetLeft - nav.offsetLeft + el.offsetWidth;
      if (right > nav.clientWidth) nav.scrollLeft = right - nav.clientWidth + 16;
    });
  }

  // Typing a delay or a moment on the New job form chooses it: a job typed "in 10m" must not go
  // now because the radio beside it was left on Now.
  document.addEventListener("input", function (evt) {
    var option = evt.target.closest && evt.target.closest(".when-option[data-when]");
    if (!option || evt.target.type === "radio") return;
    var radio = option.querySelector('input[type="radio"][name="when"]');
    if (radio && evt.target.value) radio.checked = true;
  });

  function init(root) {
    revealCurrentPage(root);
    fillZoneFields(root);
    wireFlashes(root);
    placeCharts(root);
    localizeTimes(root, pageZone);
  }

  // A checkbox that is a view's toggle (the Jobs list's "Show housekeeping") applies at once,
  // as a link would; without JavaScript its form's button applies it.
  document.addEventListener("change", function (evt) {
    var el = evt.target;
    if (el.matches && el.matches("input[data-autosubmit]") && el.form) el.form.requestSubmit();
  });

  // Live regions (a job's page, the overview, the Tasks page) are swapped whole every 2
  // seconds. A keyboard user's focus inside one would drop to <body> and the next Tab start over
  // at "Skip to content": remember what had focus and focus its counterpart in the new content.
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

  // Charts wider than the screen (phones) scroll sideways. They open at their newest end, where
  // "now" is (at the oldest, History looked empty), and a live update keeps them there; a reader
  // who scrolled back keeps their place instead. Only scrollLeft is set: focus and the page's
  // own scroll are left alone.
  var chartScroll = {}; // by data-testid: the place of each chart before a swap
  function atNewest(el) { return el.scrollWidth - el.clientWidth - el.scrollLeft <= 2; }
  function placeCharts(root) {
    root.querySelectorAll(".chart-scroll[data-testid]").forEach(function (el) {
      var before = chartScroll[el.getAttribute("data-testid")];
      el.scrollLeft = before && !before.newest ? before.left : el.scrollWidth;
    });
  }
  document.addEventListener("htmx:beforeSwap", function (evt) {
    chartScroll = {};
    if (evt.detail.target && evt.detail.target !== document.body) { // not a new page (a range picked)
      evt.detail.target.querySelectorAll(".chart-scroll[data-testid]").forEach(function (el) {
        chartScroll[el.getAttribute("data-testid")] = { left: el.scrollLeft, newest: atNewest(el) };
      });
    }
  });
  document.addEventListener("htmx:afterSettle", function () { chartScroll = {}; });

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
