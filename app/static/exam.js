// Exam page: one question at a time, every answer saved the moment it is chosen.
// Saves go through one ordered queue: each carries the sequence number the server last
// acknowledged, so the server can refuse a stale tab, and a client id, so a retry after a
// lost response is recognised instead of stored twice. The countdown runs from the
// server's remaining time and the monotonic clock, never the device's wall clock.
(function () {
  "use strict";
  var state = JSON.parse(document.getElementById("exam-state").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var sections = Array.prototype.slice.call(document.querySelectorAll("section.question"));
  var navButtons = Array.prototype.slice.call(document.querySelectorAll(".qnav-btn"));
  var statusEl = document.getElementById("save-status");
  var timerEl = document.getElementById("timer");
  var current = 1;
  var queue = [];          // pending saves, oldest first; queue[0] may be in flight
  var inFlight = false;
  var typing = {};         // position -> timer of text typed and not yet queued (600 ms pause)
  var retryDelay = 1000;
  var lastSaved = null;
  var stopped = false;

  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
  }

  // ---- navigation ------------------------------------------------------------------
  function show(pos, focus) {
    pos = Math.max(1, Math.min(state.count, pos | 0));
    current = pos;
    sections.forEach(function (s) { s.hidden = Number(s.dataset.position) !== pos; });
    navButtons.forEach(function (b) {
      var on = Number(b.dataset.goto) === pos;
      b.classList.toggle("current", on);
      if (on) b.setAttribute("aria-current", "step"); else b.removeAttribute("aria-current");
    });
    document.getElementById("prev").disabled = pos === 1;
    document.getElementById("next").disabled = pos === state.count;
    if (location.hash !== "#q=" + pos) history.replaceState(null, "", "#q=" + pos);
    if (focus) document.getElementById("qh-" + pos).focus();
    rememberPosition(pos);
  }

  // Tell the server which question is on screen, so signing in again resumes there. Every
  // save carries its position, so a ping is needed only when the candidate stays on a
  // question without answering it (or leaves the page): at 2,000 candidates a ping per
  // move would nearly double the server's requests. A lost ping costs nothing.
  var POSITION_PING_MS = 15000;
  var positionTimer = null, storedPosition = state.position;
  function sendPosition(pos, keepalive) {
    storedPosition = pos;
    return fetch(state.urls.position, {
      method: "POST", credentials: "same-origin", keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({ position: pos })
    }).catch(function () {});
  }
  function rememberPosition(pos) {
    clearTimeout(positionTimer);
    if (pos === storedPosition) return;
    positionTimer = setTimeout(function () {
      if (!stopped && current === pos) sendPosition(pos, false);
    }, POSITION_PING_MS);
  }
  function positionSaved(pos) {     // a save for `pos` stores it as the position
    storedPosition = pos;
    if (pos === current) clearTimeout(positionTimer);
  }
  window.addEventListener("pagehide", function () {
    if (!stopped && current !== storedPosition) { clearTimeout(positionTimer); sendPosition(current, true); }
  });

  function refreshNav(pos) {
    var a = state.answers[String(pos)] || {};
    var b = navButtons[pos - 1];
    var answered = a.response !== null && a.response !== undefined &&
      !(Array.isArray(a.response) && a.response.length === 0);
    b.classList.toggle("answered", answered);
    b.classList.toggle("flagged", !!a.flagged);
    b.setAttribute("aria-label", "問" + pos + (answered ? " 解答済み" : " 未解答") + (a.flagged ? " 見直し" : ""));
  }

  // ---- reading an answer from the page ------------------------------------------------
  // A choice is sent as its shown position (1..n): the page never holds the bank's keys,
  // and the server maps positions to keys with the attempt's choice order.
  function readResponse(section) {
    var type = section.dataset.type;
    var inputs = section.querySelectorAll("fieldset.answer input");
    if (type === "single") {
      var r = section.querySelector("fieldset.answer input:checked");
      return r ? Number(r.value) : null;
    }
    if (type === "multiple") {
      var picked = [];
      inputs.forEach(function (i) { if (i.checked) picked.push(Number(i.value)); });
      return picked.length ? picked.sort(function (a, b) { return a - b; }) : null;
    }
    if (type === "true_false") {
      var t = section.querySelector("fieldset.answer input:checked");
      return t ? t.value === "true" : null;
    }
    var v = inputs[0].value;
    return v.trim() ? v : null;
  }

  function changed(section) {
    if (stopped) return;
    var pos = Number(section.dataset.position);
    var entry = {
      position: pos, question_id: section.dataset.qid,
      response: readResponse(section),
      flagged: section.querySelector(".flag-box").checked
    };
    state.answers[String(pos)] = { response: entry.response, flagged: entry.flagged };
    refreshNav(pos);
    // A newer state of the same question replaces one that has never been sent. One that
    // was sent stays: the server may have stored it with only the reply lost, and its retry
    // (same client id) is what advances the sequence number the newer save builds on.
    for (var i = queue.length - 1; i >= 0; i--) {
      if (queue[i].position === pos && !queue[i].sent) { queue.splice(i, 1); }
    }
    entry.client_id = uid();
    queue.push(entry);
    positionSaved(pos);
    pump();
  }

  // ---- the save queue -----------------------------------------------------------------
  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.className = "save-status " + (kind || "");
  }

  function hhmmss(d) {
    return d.toLocaleTimeString("ja-JP", { timeZone: "Asia/Tokyo", hour12: false });
  }

  function pump() {
    if (inFlight || !queue.length || stopped) return;
    var entry = queue[0];
    entry.sent = true;
    inFlight = true;
    setStatus("保存中…", "saving");
    fetch(state.urls.save, {
      // keepalive: a save sent as the page is left (beforeunload) still reaches the server.
      method: "POST", credentials: "same-origin", keepalive: true,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify({
        base_seq: state.seq, client_id: entry.client_id, position: entry.position,
        question_id: entry.question_id, response: entry.response, flagged: entry.flagged
      })
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        return { status: resp.status, body: body };
      });
    }).then(function (r) {
      inFlight = false;
      if (r.status === 200 && r.body.ok) {
        queue.shift();
        state.seq = r.body.seq;
        retryDelay = 1000;
        lastSaved = new Date();
        syncClock(r.body.remaining_ms);
        setStatus(queue.length ? "保存中…" : "保存しました（" + hhmmss(lastSaved) + "）", "ok");
        pump();
      } else if (r.status === 409 && (r.body.error === "deadline" || r.body.error === "finished")) {
        finish(r.body.message);
      } else if (r.status === 409 && r.body.error === "stale") {
        block("別のウィンドウやタブで、より新しい解答が保存されています。この画面の解答は保存されていません。再読み込みして最新の状態から続けてください。");
      } else if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        if (r.body.error === "csrf" || r.status === 401) {
          block("ログインの有効期限が切れました。再読み込みしてログインし直してください。");
          return;
        }
        queue.shift();   // refused as invalid: retrying cannot help
        setStatus("保存できませんでした: " + (r.body.message || r.status), "error");
        pump();
      } else {
        retryLater();
      }
    }).catch(function () {
      inFlight = false;
      retryLater();
    });
  }

  function retryLater() {
    var n = queue.length;
    setStatus("通信できません。" + n + "件の解答を送信待ちです。自動で再送します…" +
      (lastSaved ? "（最終保存 " + hhmmss(lastSaved) + "）" : ""), "error");
    setTimeout(pump, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 8000);
  }

  window.addEventListener("online", function () { retryDelay = 1000; pump(); });
  window.addEventListener("beforeunload", function (e) {
    flushTyping();
    if (queue.length && !stopped) { e.preventDefault(); e.returnValue = ""; }
  });

  // Typed text goes into the queue now, its pause cut short.
  function typedNow(p) {
    clearTimeout(typing[p]); delete typing[p]; changed(sections[Number(p) - 1]);
  }

  // Text still inside its typing pause goes into the queue now, to be sent and counted.
  function flushTyping() { Object.keys(typing).forEach(typedNow); }

  function whenSaved(then) {
    flushTyping();
    if (!queue.length) { then(); return; }
    setStatus("未送信の解答を送信しています…", "saving");
    var tries = 0;
    var t = setInterval(function () {
      if (!queue.length) { clearInterval(t); then(); return; }
      if (tries++ > 40) {
        clearInterval(t);
        setStatus("未送信の解答が" + queue.length + "件あるため、確認画面を開けません。通信が回復すると自動で送信されます。もう一度お試しください。", "error");
      }
    }, 250);
  }

  function block(message) {
    stopped = true;
    document.getElementById("blocker-msg").textContent = message;
    var b = document.getElementById("blocker");
    b.hidden = false;
    document.getElementById("blocker-reload").focus();
  }

  function finish(message) {
    stopped = true;
    sections.forEach(function (s) {
      s.querySelectorAll("input").forEach(function (i) { i.disabled = true; });
    });
    setStatus(message || "試験時間が終了しました。", "error");
    setTimeout(function () { location.href = state.urls.done; }, 1500);
  }

  // ---- the clock ------------------------------------------------------------------------
  var baseRemaining = state.remaining_ms, basePerf = performance.now();
  function syncClock(ms) {
    if (typeof ms === "number") { baseRemaining = ms; basePerf = performance.now(); lastSync = basePerf; }
  }
  function remaining() { return Math.max(0, baseRemaining - (performance.now() - basePerf)); }
  function tick() {
    var ms = remaining();
    var s = Math.ceil(ms / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    timerEl.textContent = (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
    timerEl.parentNode.classList.toggle("low", ms < 5 * 60 * 1000);
    if (ms <= 0 && !stopped) {
      // The server has closed the attempt at its deadline; ask it and leave.
      stopped = true;
      fetch(state.urls.state, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .finally(function () { finish("試験時間が終了しました。解答は自動的に提出されます。"); });
    }
  }
  setInterval(tick, 250);
  tick();
  // Re-read the server's remaining time when no save reply has refreshed it for a minute,
  // and whenever the page comes back into view: a suspended laptop's timers drift.
  var lastSync = performance.now();
  function readState() {
    if (stopped) return;
    lastSync = performance.now();
    fetch(state.urls.state, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (b) { if (b.finished) finish("この受検は提出済みです。"); else syncClock(b.remaining_ms); })
      .catch(function () { /* offline: keep counting locally */ });
  }
  setInterval(function () { if (performance.now() - lastSync >= 60000) readState(); }, 15000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible" && performance.now() - lastSync >= 5000) readState();
  });

  // ---- wiring -------------------------------------------------------------------------
  sections.forEach(function (section) {
    section.querySelectorAll("fieldset.answer input[type=radio], fieldset.answer input[type=checkbox], .flag-box")
      .forEach(function (i) { i.addEventListener("change", function () { changed(section); }); });
    var text = section.querySelector("input.text-answer");
    if (text) {
      var pos = section.dataset.position;
      var now = function () { typedNow(pos); };
      text.addEventListener("input", function () {
        clearTimeout(typing[pos]);
        typing[pos] = setTimeout(now, 600);
      });
      text.addEventListener("change", now);
      text.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); now(); }
      });
    }
  });
  navButtons.forEach(function (b) {
    b.addEventListener("click", function () { show(Number(b.dataset.goto), true); });
  });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1, true); });
  document.getElementById("next").addEventListener("click", function () { show(current + 1, true); });
  document.getElementById("to-confirm").addEventListener("click", function () {
    whenSaved(function () { location.href = state.urls.confirm; });
  });
  document.getElementById("blocker-reload").addEventListener("click", function () {
    queue = []; location.reload();
  });
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    var k = e.key.toLowerCase();
    if (k === "n") { e.preventDefault(); show(current + 1, true); }
    else if (k === "p") { e.preventDefault(); show(current - 1, true); }
    else if (k === "m") {
      e.preventDefault();
      var box = sections[current - 1].querySelector(".flag-box");
      box.checked = !box.checked;
      changed(sections[current - 1]);
    }
  });
  window.addEventListener("hashchange", function () {
    var m = /q=(\d+)/.exec(location.hash);
    if (m) show(Number(m[1]), true);
  });

  for (var p = 1; p <= state.count; p++) refreshNav(p);
  var fromHash = /q=(\d+)/.exec(location.hash);
  show(fromHash ? Number(fromHash[1]) : state.position, false);
  // Test hook and diagnostics: how many saves are waiting, typed text not yet queued
  // included.
  window.cbtPendingSaves = function () { return queue.length + Object.keys(typing).length; };
})();
