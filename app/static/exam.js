// Exam page: the lobby, then one question at a time, every answer saved the moment it is
// chosen.
//
// In the lobby the questions are in the page sealed (AES-GCM, app/exam/sealed.py): the
// start, the candidate's own 開始 or the proctor's signal, brings the key, and the page
// opens them in place, so a room of candidates starts without loading anything more.
// Saves go through one ordered queue: each carries the sequence number the server last
// acknowledged, so the server can refuse a stale tab, and a client id, so a retry after a
// lost response is recognised instead of stored twice. The countdown runs from the
// server's remaining time and the monotonic clock, never the device's wall clock.
// A proctor's action (a pause, time given, the end, the signal) changes the room's number.
// Where the room's channel runs (app/channel), the page holds one event stream and is
// pushed its state when the number changes; without it, or while the stream is down, the
// page asks for the number every few seconds (the pulse) and reads its state on a change.
(function () {
  "use strict";
  var state = JSON.parse(document.getElementById("exam-state").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  function $(id) { return document.getElementById(id); }

  var started = false;     // the questions are in the page and wired
  var stopped = false;     // finished or blocked: nothing more is sent
  var paused = false;      // a proctor's pause: the clock stands still, saves wait
  var queue = [];          // pending saves, oldest first; queue[0] may be in flight
  var typing = {};         // position -> timer of text typed and not yet queued (600 ms pause)

  // One polite live region for what must be heard once (time warnings, the start, a
  // resume), never the ticking clock.
  function announce(text) { $("announcer").textContent = text; }

  function request(method, url, body) {
    var opts = { method: method, credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.headers["X-CSRFToken"] = csrf;
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (b) {
        return { status: resp.status, body: b, at: performance.now() };
      });
    });
  }

  function block(message) {
    stopped = true;
    clearTimeout(pulseTimer);
    closeChannel();
    $("blocker-msg").textContent = message;
    $("blocker").hidden = false;
    // The page behind the notice can be neither tabbed to nor tapped: only 再読み込み.
    for (var el = $("blocker"); el.parentElement && el !== document.body; el = el.parentElement) {
      Array.prototype.forEach.call(el.parentElement.children, function (other) {
        if (other !== el) other.inert = true;
      });
    }
    $("blocker-reload").focus();
  }

  // What no retry can mend: signed out (a move to another PC signs the old one out, as
  // does an expired sign-in), or the room's access rules (network, Safe Exam Browser).
  function refusedForGood(r) {
    if (r.status === 401 || r.body.error === "csrf") {
      block(SIGNED_OUT);
      return true;
    }
    if (r.status === 403) {
      block(r.body.message || "この端末からは受検できません。試験監督者に連絡してください。");
      return true;
    }
    return false;
  }

  function fmt(ms) {
    var s = Math.ceil(Math.max(0, ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(sec).padStart(2, "0");
  }

  // ---- the pulse and the state ----------------------------------------------------------
  // One request at a time, every 3 s in the lobby and 5 s while sitting, jittered so that
  // a room of pages does not ask in step.
  var pulseTimer = null;
  function schedulePulse() {
    clearTimeout(pulseTimer);
    if (stopped || channelLive) return;
    var every = started ? 5000 : 3000;
    pulseTimer = setTimeout(pulse, every * (0.8 + Math.random() * 0.4));
  }
  // A save's reply carries the room's number too: a page that saves hears a proctor's
  // action there, and its next pulse waits a full beat.
  function heard(v) {
    if (typeof v !== "number" || stopped) return;
    if (v !== state.v) readState(true).catch(function () {});
    else schedulePulse();
  }
  function pulse() {
    pulseTimer = null;
    request("GET", state.urls.pulse).then(function (r) {
      if (r.status === 200 && r.body.ok) {
        if (r.body.v !== state.v) return readState(true);
      } else {
        refusedForGood(r);
      }
    }).catch(function () { /* offline: ask again at the next beat */ }).then(schedulePulse);
  }

  // ---- the room's channel -------------------------------------------------------------
  // While the stream is open, nothing is asked: the state comes when it changes. The
  // browser opens the stream again by itself after a loss; the pulse covers the gap.
  var channel = null, channelLive = false;
  var SIGNED_OUT = "ログインが終了しています（有効期限切れ、または別の端末への移動）。再読み込みしてログインし直してください。解答は保存されています。";
  function openChannel() {
    if (!state.urls.events || !window.EventSource || stopped) return;
    channel = new EventSource(state.urls.events, { withCredentials: true });
    channel.onopen = function () { channelLive = true; clearTimeout(pulseTimer); pulseTimer = null; };
    channel.onmessage = function (e) {
      var s;
      try { s = JSON.parse(e.data); } catch (err) { return; }
      channelLive = true;
      clearTimeout(pulseTimer);
      pulseTimer = null;
      if (stopped) return;
      if (s.phase === undefined) {      // the number as the stream opened
        if (typeof s.v === "number" && s.v !== state.v) readState(true).catch(function () {});
        return;
      }
      lastSync = performance.now();
      apply(s, performance.now(), true);
    };
    channel.addEventListener("ended", function () { block(SIGNED_OUT); });
    channel.onerror = function () {
      channelLive = false;
      if (channel.readyState === 2) channel = null;     // refused: the pulse says why
      // Every failed reconnection lands here: the beat already set is kept.
      if (!pulseTimer) schedulePulse();
    };
  }
  function closeChannel() {
    if (channel) channel.close();
    channel = null;
    channelLive = false;
  }

  var lastSync = performance.now();
  function readState(changed) {
    if (stopped) return Promise.resolve();
    lastSync = performance.now();
    return request("GET", state.urls.state).then(function (r) {
      if (r.status === 200 && r.body.ok) apply(r.body, r.at, changed);
      else refusedForGood(r);
    });
  }

  function apply(s, at, changed) {
    if (typeof s.v === "number") state.v = s.v;
    if (s.phase === "finished") { ended(); return; }
    if (!started) { lobbyApply(s, at, changed); return; }
    if (s.phase === "paused") hold(s);
    else if (s.phase === "running") {
      if (paused) release(s, at); else resync(s.remaining_ms, at);
    }
    tick();
  }

  // ---- the lobby ----------------------------------------------------------------------------
  var lobbyEl = $("lobby");
  var opening = null;      // the sealed questions being opened (a promise of their HTML)
  var startAt = null;      // performance.now() of the start, once known
  var startState = null;
  var countdownTimer = null;
  var launching = false;   // the start's moment has come: the questions are going in

  function lobbyMessage(text) {
    var m = $("lobby-msg");
    m.textContent = text || "";
    m.hidden = !text;
  }

  function lobbyShow(which) {       // "self", "wait" or neither (counting down)
    $("lobby-self").hidden = which !== "self";
    $("lobby-wait").hidden = which !== "wait";
  }

  function fromBase64(text) {
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  function openSealed(key) {
    var sealed = JSON.parse($("sealed-questions").textContent);
    if (!(window.crypto && crypto.subtle)) return Promise.reject(new Error("no WebCrypto"));
    return crypto.subtle.importKey("raw", fromBase64(key), "AES-GCM", false, ["decrypt"])
      .then(function (k) {
        return crypto.subtle.decrypt({ name: "AES-GCM", iv: fromBase64(sealed.iv) }, k, fromBase64(sealed.data));
      })
      .then(function (plain) { return new TextDecoder().decode(plain); });
  }

  function lobbyApply(s, at, changed) {
    if (s.phase === "lobby") {
      // The room's number changed and this page was not started: the signal may have come
      // just as it entered. It may start on its own now (if not, 開始 says to wait).
      if (changed && !$("lobby-wait").hidden) lobbyShow("self");
      return;
    }
    if (!s.key || launching) return;
    startState = s;
    startState.at = at;
    startAt = at + (s.starts_in_ms || 0);
    if (!opening) {
      // Opened at once, put in the page at the start; without WebCrypto (plain http other
      // than localhost) the page is loaded again once started: the server then sends them.
      opening = openSealed(s.key);
      opening.catch(function () {});
    }
    lobbyShow(null);
    lobbyMessage("");
    if (s.starts_in_ms > 0 && !countdownTimer) {
      $("lobby-countdown").hidden = false;
      $("lobby-countdown").scrollIntoView({ block: "center" });    // below the rules on a phone
      announce("まもなく試験が始まります。開始まで" + Math.ceil(s.starts_in_ms / 1000) + "秒です。");
    }
    if (!countdownTimer) countdownTimer = setInterval(countdown, 200);
    countdown();
  }

  function countdown() {
    var left = startAt - performance.now();
    $("lobby-countdown-n").textContent = String(Math.max(0, Math.ceil(left / 1000)));
    if (left > 0 || launching) return;
    launching = true;
    clearInterval(countdownTimer);
    countdownTimer = null;
    opening.then(function (html) {
      $("question-slot").innerHTML = html;
      $("sealed-questions").remove();
      lobbyEl.hidden = true;
      startExam(startState, true);
    }, function () { location.reload(); });
  }

  function begin() {
    var button = $("lobby-begin");
    button.disabled = true;
    lobbyMessage("");
    request("POST", state.urls.begin, {}).then(function (r) {
      if (r.status === 200 && r.body.ok) {
        apply(r.body, r.at, false);
        if (r.body.phase === "lobby") button.disabled = !$("lobby-confirm").checked;
        return;
      }
      if (refusedForGood(r)) return;
      if (r.status === 409 && r.body.error === "wait_signal") lobbyShow("wait");
      lobbyMessage(r.body.message || "開始できませんでした。もう一度お試しください。");
      button.disabled = !$("lobby-confirm").checked;
    }).catch(function () {
      lobbyMessage("通信できません。もう一度「開始」を押してください。");
      button.disabled = !$("lobby-confirm").checked;
    });
  }

  function lobbyInit() {
    var box = $("lobby-confirm"), button = $("lobby-begin");
    box.addEventListener("change", function () { button.disabled = !box.checked; });
    button.addEventListener("click", begin);
    // Loaded again during the signal's countdown: the state already has the start.
    if (state.phase !== "lobby") lobbyApply(state, performance.now(), false);
  }

  // ---- the exam -----------------------------------------------------------------------------
  var sections = [], navButtons = [];
  var statusEl = $("save-status"), timerEl = $("timer"), timerBox = $("timer-box");
  var layout = $("exam-layout"), holdEl = $("hold");
  var current = 1;
  var inFlight = false;
  var retryDelay = 1000;
  var lastSaved = null;

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
    $("prev").disabled = pos === 1;
    $("next").disabled = pos === state.count;
    if (location.hash !== "#q=" + pos) history.replaceState(null, "", "#q=" + pos);
    if (focus) {
      closePanel(false);
      $("qh-" + pos).focus({ preventScroll: true });
      reveal(sections[pos - 1]);
    }
    rememberPosition(pos);
  }

  // The question's top just below the sticky bar, when it is hidden under the bar or far
  // down the screen (次の問題 tapped at the foot of a long question on a phone).
  function reveal(section) {
    var bar = document.querySelector(".exam-bar").getBoundingClientRect();
    var top = section.getBoundingClientRect().top;
    var below = Math.max(0, bar.bottom) + 8;
    if (top < below || top > window.innerHeight / 3) window.scrollBy(0, top - below);
  }

  // ---- the question panel on a narrow screen -------------------------------------------
  // There the panel is closed under the bar's 問題一覧; opened, it lies over the page just
  // below the bar, its current question focused. A choice, Escape or 問題一覧 closes it.
  var toggle = $("qnav-toggle"), panel = $("qnav");
  function panelOpen() { return panel.classList.contains("open"); }
  function openPanel() {
    var bar = document.querySelector(".exam-bar").getBoundingClientRect();
    panel.style.setProperty("--panel-top", Math.max(0, Math.round(bar.bottom)) + 4 + "px");
    panel.classList.add("open");
    toggle.setAttribute("aria-expanded", "true");
    var here = panel.querySelector(".qnav-btn.current") || panel.querySelector(".qnav-btn");
    if (here) here.focus();
  }
  function closePanel(refocus) {
    if (!panelOpen()) return;
    panel.classList.remove("open");
    toggle.setAttribute("aria-expanded", "false");
    if (refocus) toggle.focus();
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
  // `at`, the time of the last save, in a part of its own that the narrowest bar leaves out.
  function setStatus(text, kind, at) {
    statusEl.textContent = text;
    if (at) {
      var when = document.createElement("span");
      when.className = "save-time";
      when.textContent = "（" + at + "）";
      statusEl.appendChild(when);
    }
    statusEl.className = "save-status " + (kind || "");
  }

  function hhmmss(d) {
    return d.toLocaleTimeString("ja-JP", { timeZone: "Asia/Tokyo", hour12: false });
  }

  function pump() {
    if (inFlight || !queue.length || stopped || paused) return;
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
        heard(r.body.v);
        if (queue.length) setStatus("保存中…", "ok");
        else setStatus("保存しました", "ok", hhmmss(lastSaved));
        pump();
      } else if (r.status === 409 && (r.body.error === "paused" || r.body.error === "not_started")) {
        // Not stored: the clock stands still. The save stays first in the queue, to go
        // again once the proctor resumes; the state says why.
        readState(false).catch(function () {}).then(function () {
          if (!paused) later();     // resumed meanwhile, or the state unreadable
        });
      } else if (r.status === 409 && (r.body.error === "deadline" || r.body.error === "finished")) {
        finish(r.body.message);
      } else if (r.status === 409 && r.body.error === "stale") {
        block("別のウィンドウやタブで、より新しい解答が保存されています。この画面の解答は保存されていません。再読み込みして最新の状態から続けてください。");
      } else if (r.status >= 400 && r.status < 500 && r.status !== 408 && r.status !== 429) {
        if (refusedForGood(r)) return;
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

  function later() {
    setTimeout(pump, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 8000);
  }

  function retryLater() {
    var n = queue.length;
    setStatus("通信できません。" + n + "件の解答を送信待ちです。自動で再送します…" +
      (lastSaved ? "（最終保存 " + hhmmss(lastSaved) + "）" : ""), "error");
    later();
  }

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

  function finish(message) {
    stopped = true;
    clearTimeout(pulseTimer);
    closeChannel();
    sections.forEach(function (s) {
      s.querySelectorAll("input").forEach(function (i) { i.disabled = true; });
    });
    setStatus(message || "試験時間が終了しました。", "error");
    setTimeout(function () { location.href = state.urls.done; }, 1500);
  }

  // ---- a proctor's pause, and the end -------------------------------------------------------
  function showHold(title, why, wait, time) {
    var was = holdEl.hidden;
    $("hold-title").textContent = title;
    $("hold-why").textContent = why;
    $("hold-wait").textContent = wait;
    $("hold-time").textContent = time;
    closePanel(false);
    toggle.hidden = true;         // no panel to open while the questions are away
    layout.hidden = true;
    holdEl.hidden = false;
    if (was) holdEl.focus();      // read out by its name and description
  }

  function hold(s) {
    paused = true;
    flushTyping();                // typed text waits in the queue with the rest
    if (typeof s.remaining_ms === "number") baseRemaining = s.remaining_ms;
    timerBox.classList.add("stopped");
    var reason = s.pause_reason ? "理由: " + s.pause_reason : "";
    var why = s.pause_scope === "room" ? "試験会場全体の一時中断です。" + reason : reason;
    showHold("試験は一時中断中です", why, "監督者の指示をお待ちください",
      "残り時間は " + fmt(baseRemaining) + " で止まっています。再開すると、続きから受検できます。");
    tick();
    if (queue.length) setStatus("一時中断中のため、" + queue.length + "件の解答は再開後に送信します。", "saving");
  }

  function release(s, at) {
    paused = false;
    syncClock(s.remaining_ms, at);
    timerBox.classList.remove("stopped");
    holdEl.hidden = true;
    layout.hidden = false;
    toggle.hidden = false;
    announce("試験を再開しました。残り時間は" + fmt(remaining()) + "です。");
    show(current, true);
    retryDelay = 1000;
    pump();
  }

  // Submitted by the proctor's termination, by another tab, or at the deadline elsewhere.
  function ended() {
    if (!started) { stopped = true; location.href = state.urls.done; return; }
    if (stopped) return;
    baseRemaining = remaining();
    paused = true;                // the clock shows where it stood
    showHold("この受検は終了しました", "解答は提出済みです。", "終了画面に移ります…", "");
    finish("この受検は終了しました。");
  }

  // ---- the clock ------------------------------------------------------------------------
  var baseRemaining = state.remaining_ms, basePerf = performance.now();
  function syncClock(ms, at) {
    if (typeof ms !== "number") return;
    baseRemaining = ms; basePerf = at || performance.now(); lastSync = basePerf;
  }
  function remaining() {
    return paused ? baseRemaining : Math.max(0, baseRemaining - (performance.now() - basePerf));
  }

  // Time given by a proctor (or back after a pause elsewhere): the page follows the
  // server, and says so when it is a real gift rather than drift.
  function resync(ms, at) {
    var before = remaining();
    syncClock(ms, at);
    if (typeof ms === "number" && ms - before >= 30000) {
      announce("試験時間が追加されました。残り時間は" + fmt(ms) + "です。");
      cue();
    }
  }

  // Warnings at 10, 5 and 1 minutes left: said once as the time passes each mark (a page
  // loaded past a mark stays quiet; time given arms the marks above it again).
  var MARKS = [10, 5, 1];
  var lastMs = null, cueTimer = null;
  function cue() {
    timerBox.classList.add("alerted");
    clearTimeout(cueTimer);
    cueTimer = setTimeout(function () { timerBox.classList.remove("alerted"); }, 6000);
  }
  function warn(ms) {
    if (lastMs !== null && !paused && ms > 0) {
      var crossed = null;
      MARKS.forEach(function (m) { if (lastMs > m * 60000 && ms <= m * 60000) crossed = m; });
      if (crossed !== null) { announce("残り" + crossed + "分です"); cue(); }
    }
    lastMs = ms;
  }

  function tick() {
    var ms = remaining();
    timerEl.textContent = fmt(ms);
    timerBox.classList.toggle("warn", ms <= 10 * 60 * 1000);
    timerBox.classList.toggle("low", ms <= 5 * 60 * 1000);
    warn(ms);
    if (ms <= 0 && !stopped && !paused) {
      // The server has closed the attempt at its deadline; ask it and leave.
      stopped = true;
      fetch(state.urls.state, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .finally(function () { finish("試験時間が終了しました。解答は自動的に提出されます。"); });
    }
  }

  // ---- wiring -------------------------------------------------------------------------
  function startExam(s, fromLobby) {
    started = true;
    sections = Array.prototype.slice.call(document.querySelectorAll("section.question"));
    navButtons = Array.prototype.slice.call(document.querySelectorAll(".qnav-btn"));
    $("exam").hidden = false;
    syncClock(s.remaining_ms, s.at);

    window.addEventListener("pagehide", function () {
      if (!stopped && current !== storedPosition) { clearTimeout(positionTimer); sendPosition(current, true); }
    });
    window.addEventListener("online", function () { retryDelay = 1000; pump(); });
    window.addEventListener("beforeunload", function (e) {
      flushTyping();
      if (queue.length && !stopped) { e.preventDefault(); e.returnValue = ""; }
    });

    setInterval(tick, 250);
    tick();
    // Re-read the server's remaining time when no save reply has refreshed it for a minute,
    // and whenever the page comes back into view: a suspended laptop's timers drift.
    setInterval(function () {
      if (performance.now() - lastSync >= 60000) readState(false).catch(function () {});
    }, 15000);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && performance.now() - lastSync >= 5000) {
        readState(false).catch(function () {});
      }
    });

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
    toggle.addEventListener("click", function () {
      if (panelOpen()) closePanel(false); else openPanel();
    });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && panelOpen()) { e.preventDefault(); closePanel(true); }
    });
    document.addEventListener("click", function (e) {     // a tap beside the open panel
      if (panelOpen() && !panel.contains(e.target) && !toggle.contains(e.target)) closePanel(false);
    });
    $("prev").addEventListener("click", function () { show(current - 1, true); });
    $("next").addEventListener("click", function () { show(current + 1, true); });
    $("to-confirm").addEventListener("click", function () {
      whenSaved(function () { location.href = state.urls.confirm; });
    });
    document.addEventListener("keydown", function (e) {
      if (!e.altKey || e.ctrlKey || e.metaKey || paused || stopped) return;
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
    // Started from the lobby: the focus goes to the first question, which is read out.
    show(fromHash ? Number(fromHash[1]) : state.position, !!fromLobby);
    if (s.phase === "paused") hold(s);
  }

  $("blocker-reload").addEventListener("click", function () {
    queue = []; location.reload();
  });
  // Test hook and diagnostics: how many saves are waiting, typed text not yet queued
  // included.
  window.cbtPendingSaves = function () { return queue.length + Object.keys(typing).length; };
  window.cbtChannelLive = function () { return channelLive; };

  if (state.phase === "finished") {
    location.href = state.urls.done;
  } else {
    if (lobbyEl) lobbyInit(); else startExam(state, false);
    openChannel();
    schedulePulse();
  }
})();
