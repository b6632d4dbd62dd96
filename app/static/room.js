// The proctor's room page: the candidates' states kept live, and the actions posted as JSON.
// The page works without this script (plain forms, a reload for fresh states); the script
// polls the room's state every few seconds (one request at a time, the next one scheduled
// only when the last has answered), updates the table in place (so an open form or dialog
// keeps what the proctor typed), filters the table, and asks for reasons in a dialog.
(function () {
  "use strict";
  var root = document.getElementById("room");
  if (!root) return;
  var config = JSON.parse(document.getElementById("room-config").textContent);
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var stateUrl = root.dataset.stateUrl;
  var POLL_MS = config.poll_ms || 3000;
  var pollTimer = null, polling = false, again = false, stopped = false;
  var lastGood = document.getElementById("updated-at").textContent;
  var seatsById = {};

  root.classList.add("js");
  Array.prototype.forEach.call(root.querySelectorAll(".seat-buttons"), function (b) { b.hidden = false; });

  function $(id) { return document.getElementById(id); }

  // ---- messages ------------------------------------------------------------------------
  function say(text, isError) {
    var el = $("room-message");
    el.textContent = text;
    el.classList.toggle("error", !!isError);
    el.hidden = !text;
  }

  // ---- posting an action ---------------------------------------------------------------
  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!data.message) {
          data.message = resp.status === 401 ? "ログインの有効期限が切れました。ページを再読み込みしてログインしてください。"
            : "操作を完了できませんでした（" + resp.status + "）。もう一度お試しください。";
        }
        data.ok = resp.ok && data.ok !== false;
        return data;
      });
    }, function () {
      return { ok: false, message: "サーバーに接続できませんでした。ネットワークを確かめて、もう一度お試しください。" };
    });
  }

  function numberOrNull(value) {
    return value === "" || value === null || value === undefined ? null : Number(value);
  }

  // The page's plain forms (the room's controls; a seat's forms when the dialog is not
  // used), posted as JSON instead of reloading the page.
  function formBody(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.name === "confirm") return;
      body[el.name] = el.type === "number" ? numberOrNull(el.value) : el.value;
    });
    return body;
  }

  root.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList.contains("js-action")) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    post(form.action, formBody(form)).then(function (data) {
      if (button) button.disabled = false;
      say(data.message, !data.ok);
      if (data.ok) {
        form.reset();
        if (data.starts_in_ms !== undefined) startCountdown(data.starts_in_ms, null);
      }
      refreshNow();
    });
  });

  // ---- the dialog for one candidate ---------------------------------------------------
  var dialog = $("seat-dialog");
  var dialogForm = $("seat-dialog-form");
  var opener = null, dialogUrl = null, dialogAction = null;
  var MINUTES = {
    time: { label: "追加する時間（分）", name: "minutes", min: 1, required: true, value: "" },
    move: { label: "失われた時間（分、返還します）", name: "lost_minutes", min: 0, required: false, value: "0" }
  };

  function openDialog(button) {
    var row = button.closest("tr");
    var action = button.dataset.action;
    var minutes = MINUTES[action];
    opener = button;
    dialogUrl = button.dataset.url;
    dialogAction = action;
    $("seat-dialog-title").textContent = button.textContent + "：" + row.querySelector(".seat-name").textContent;
    $("seat-dialog-warning").hidden = action !== "terminate";
    $("seat-dialog-minutes-field").hidden = !minutes;
    var input = $("seat-dialog-minutes");
    input.required = !!(minutes && minutes.required);
    if (minutes) {
      $("seat-dialog-minutes-label").textContent = minutes.label;
      input.min = String(minutes.min);
      input.value = minutes.value;
    }
    $("seat-dialog-reason-label").textContent = (action === "note" ? "記録する内容" : "理由") + "（必須）";
    $("seat-dialog-reason").value = "";
    var confirmBox = $("seat-dialog-confirm");
    confirmBox.checked = false;
    confirmBox.required = action === "terminate";
    $("seat-dialog-confirm-field").hidden = action !== "terminate";
    $("seat-dialog-error").textContent = "";
    var submit = $("seat-dialog-submit");
    submit.textContent = button.textContent;
    submit.classList.toggle("danger", action === "terminate");
    submit.disabled = false;
    dialog.showModal();
    (minutes ? input : $("seat-dialog-reason")).focus();
  }

  function closeDialog() {
    if (dialog.open) dialog.close();
  }

  dialog.addEventListener("close", function () {
    if (opener && document.body.contains(opener) && !opener.disabled) opener.focus();
  });
  $("seat-dialog-cancel").addEventListener("click", closeDialog);

  dialogForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var body = { reason: $("seat-dialog-reason").value };
    var minutes = MINUTES[dialogAction];
    if (minutes) body[minutes.name] = numberOrNull($("seat-dialog-minutes").value);
    var submit = $("seat-dialog-submit");
    submit.disabled = true;
    post(dialogUrl, body).then(function (data) {
      submit.disabled = false;
      if (data.ok) {
        closeDialog();
        say(data.message, false);
      } else {
        $("seat-dialog-error").textContent = data.message;   // the dialog stays open to retry
      }
      refreshNow();
    });
  });

  root.addEventListener("click", function (event) {
    var button = event.target.closest(".seat-buttons button");
    if (button && !button.disabled) openDialog(button);
  });

  // ---- filters -------------------------------------------------------------------------
  var filterAff = $("filter-affiliation"), filterState = $("filter-state");

  function applyFilters() {
    var aff = filterAff.value, state = filterState.value, shown = 0, rows = root.querySelectorAll("tr.seat");
    Array.prototype.forEach.call(rows, function (row) {
      var hide = (aff && row.dataset.affiliation !== aff) || (state && row.dataset.state !== state);
      row.hidden = !!hide;
      if (!hide) shown += 1;
    });
    $("filter-summary").textContent = (aff || state) ? rows.length + "名中" + shown + "名を表示" : "";
  }

  function filtersChanged() {
    applyFilters();
    var params = new URLSearchParams();
    if (filterAff.value) params.set("affiliation", filterAff.value);
    if (filterState.value) params.set("state", filterState.value);
    var query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }
  filterAff.addEventListener("change", filtersChanged);
  filterState.addEventListener("change", filtersChanged);
  $("seat-filters").addEventListener("submit", function (event) { event.preventDefault(); filtersChanged(); });

  // ---- the signal's countdown -----------------------------------------------------------
  var countdownTimer = null;

  function startCountdown(ms, startedAt) {
    var status = $("signal-status");
    if (!status) return;
    var form = $("signal-form");
    if (form) form.hidden = true;
    status.hidden = false;
    clearTimeout(countdownTimer);
    var until = performance.now() + ms;
    (function tick() {
      var left = Math.ceil((until - performance.now()) / 1000);
      if (left > 0) {
        status.textContent = "開始まで あと" + left + "秒";
        status.classList.add("counting");
        countdownTimer = setTimeout(tick, 200);
      } else {
        status.textContent = "開始済み" + (startedAt ? "（" + startedAt + "）" : "");
        status.classList.remove("counting");
      }
    })();
  }

  // ---- rendering the state ------------------------------------------------------------
  function clock(ms) {
    if (ms === null || ms === undefined) return "—";
    var s = Math.floor(ms / 1000);
    var sec = s % 60;
    return Math.floor(s / 60) + ":" + (sec < 10 ? "0" : "") + sec;
  }

  function since(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    return seconds < 60 ? seconds + "秒前" : Math.floor(seconds / 60) + "分" + (seconds % 60) + "秒前";
  }

  function setText(row, selector, text) {
    var cell = row.querySelector(selector);
    if (cell.textContent !== text) cell.textContent = text;
  }

  function renderSeat(row, seat) {
    var started = seat.state === "answering" || seat.state === "paused";
    row.dataset.state = seat.state;
    row.dataset.affiliation = seat.affiliation || "";
    row.className = "seat state-" + seat.state;
    setText(row, ".state-pill", seat.state_name);
    setText(row, ".seat-position", started ? seat.position + " / " + seat.count : "—");
    setText(row, ".seat-answered", seat.attempt_id ? seat.answered + " / " + seat.count : "—");
    setText(row, ".seat-left", clock(seat.remaining_ms));
    setText(row, ".seat-since", started ? since(seat.since_save_s) : "—");
    setText(row, ".seat-pause-reason", seat.state === "paused" ? seat.pause_reason || "" : "");
    var extra = row.querySelector(".seat-extra");
    var badge = seat.extra_seconds ? "延長あり +" + Math.ceil(seat.extra_seconds / 60) + "分" : "";
    if (extra.textContent !== badge) {
      extra.textContent = "";
      if (badge) {
        var span = document.createElement("span");
        span.className = "badge extra";
        span.textContent = badge;
        extra.appendChild(span);
      }
    }
    var allowed = config.allowed[seat.state] || [];
    Array.prototype.forEach.call(row.querySelectorAll(".seat-buttons button"), function (b) {
      var a = b.dataset.action;
      b.disabled = allowed.indexOf(a) < 0 || (a === "resume" && seat.pause_scope !== "candidate");
    });
  }

  function render(data) {
    $("updated-at").textContent = lastGood = data.updated_at;
    $("room-paused").hidden = !data.room_paused;
    $("room-pause-reason").textContent = data.room_pause_reason || "";
    $("room-pause-form").hidden = data.room_paused;
    $("room-resume-form").hidden = !data.room_paused;
    $("access-code").textContent = data.access_code || "なし";
    $("code-form").querySelector("button").textContent = data.access_code ? "変更" : "入室コードを作成";
    // Each answer sets the countdown again from the server's clock.
    if (data.signal_at) startCountdown(data.signal_in_ms || 0, data.signal_at_jst);
    var counts = {}, changed = false;
    data.seats.forEach(function (seat) {
      counts[seat.state] = (counts[seat.state] || 0) + 1;
      var row = seatsById[seat.user_id] || $("seat-" + seat.user_id);
      if (!row) { changed = true; return; }
      seatsById[seat.user_id] = row;
      renderSeat(row, seat);
    });
    if (data.seats.length !== root.querySelectorAll("tr.seat").length) changed = true;
    $("seats-changed").hidden = !changed;
    Array.prototype.forEach.call(root.querySelectorAll("[data-count]"), function (el) {
      el.querySelector("strong").textContent = counts[el.dataset.count] || 0;
    });
    applyFilters();
  }

  // ---- polling -------------------------------------------------------------------------
  function showPollError(text, stop) {
    var el = $("poll-error");
    el.textContent = text;
    el.hidden = false;
    $("updated-at").classList.add("stale");
    if (stop) stopped = true;
  }

  function poll() {
    pollTimer = null;
    if (stopped) return;
    polling = true;
    fetch(stateUrl, { credentials: "same-origin", cache: "no-store", headers: { "Accept": "application/json" } })
      .then(function (resp) {
        if (resp.status === 401) {
          showPollError("ログインの有効期限が切れました。ページを再読み込みしてログインしてください。", true);
          return;
        }
        if (resp.status === 403 || resp.status === 404) {
          showPollError("この試験会場を表示できなくなりました（" + resp.status + "）。監督する検定の一覧に戻ってください。", true);
          return;
        }
        if (!resp.ok) throw new Error(String(resp.status));
        return resp.json().then(function (data) {
          render(data);
          $("poll-error").hidden = true;
          $("updated-at").classList.remove("stale");
        });
      })
      .catch(function () {
        showPollError("最新の状態を取得できません（" + lastGood + " 時点の表示です）。自動で再試行しています。", false);
      })
      .then(function () {
        polling = false;
        schedule(again ? 0 : POLL_MS);
        again = false;
      });
  }

  function schedule(ms) {
    clearTimeout(pollTimer);
    if (!stopped) pollTimer = setTimeout(poll, ms);
  }

  // After an action: read the room at once (or right after the request under way).
  function refreshNow() {
    if (polling) again = true; else schedule(0);
  }

  var initial = $("signal-status");
  if (initial && /あと/.test(initial.textContent)) refreshNow(); else schedule(POLL_MS);
  applyFilters();
})();
