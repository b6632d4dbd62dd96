// The confirm page's time left, counted down as on the exam page: from the server's
// remaining time with the monotonic clock, never the device's wall clock. It follows the
// server as the exam page does: the pulse every few seconds hears a proctor's action (a
// pause, time given, the end), the state is read again every minute and when the page
// comes back into view, and at zero, when the server has closed the attempt at its
// deadline, the page moves on to the done page.
(function () {
  "use strict";
  var el = document.getElementById("confirm-remaining");
  if (!el) return;
  var stoppedNote = document.getElementById("confirm-stopped");
  var submit = document.getElementById("submit-final");
  var announcer = document.getElementById("confirm-announcer");
  var base = Number(el.dataset.remainingMs), basePerf = performance.now();
  var paused = el.dataset.paused === "true";
  var lastSync = basePerf, lastAsk = 0, asking = false, leaving = false;

  function fmt(ms) {
    var s = Math.ceil(Math.max(0, ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
  }
  function remaining() {
    return paused ? base : Math.max(0, base - (performance.now() - basePerf));
  }
  function leave() {
    leaving = true;
    location.href = el.dataset.doneUrl;
  }

  function readState(atZero) {
    if (asking || leaving) return;
    asking = true;
    lastAsk = performance.now();
    fetch(el.dataset.stateUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (s && s.ok && s.phase !== "finished") {
          if (typeof s.v === "number") roomV = s.v;
          base = s.remaining_ms;
          basePerf = lastSync = performance.now();
          paused = s.phase === "paused";
          stoppedNote.hidden = !paused;
          submit.disabled = paused;          // the server refuses a submission meanwhile
          tick();
        } else if ((s && s.phase === "finished") || atZero) {
          leave();     // the done page closes the attempt at its deadline if none has yet
        }
      })
      .catch(function () { if (atZero) leave(); })
      .then(function () { asking = false; });
  }

  // Said once as the time passes 10, 5 and 1 minutes left, as on the exam page.
  var MARKS = [10, 5, 1], lastMs = null;
  function warn(ms) {
    if (lastMs !== null && !paused && ms > 0) {
      MARKS.forEach(function (m) {
        if (lastMs > m * 60000 && ms <= m * 60000) announcer.textContent = "残り" + m + "分です";
      });
    }
    lastMs = ms;
  }

  function tick() {
    var ms = remaining(), text = fmt(ms);
    if (el.textContent !== text) el.textContent = text;
    el.classList.toggle("low", ms <= 5 * 60 * 1000);
    warn(ms);
    if (ms <= 0 && !paused && performance.now() - lastAsk >= 2000) readState(true);
  }

  // The room's number changes with a proctor's action; the first reply gives it (a change
  // before that is caught by the read every minute).
  var roomV = null;
  function pulse() {
    if (leaving) return;
    fetch(el.dataset.pulseUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (!b || typeof b.v !== "number") return;
        if (roomV !== null && b.v !== roomV) readState(false);
        roomV = b.v;
      })
      .catch(function () {})
      .then(function () { setTimeout(pulse, 5000 * (0.8 + Math.random() * 0.4)); });
  }
  setTimeout(pulse, 1000);

  setInterval(tick, 250);
  setInterval(function () {
    if (performance.now() - lastSync >= 60000) readState(false);
  }, 15000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && performance.now() - lastSync >= 5000) readState(false);
  });
  tick();
})();
