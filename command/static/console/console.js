// Command-centre console: sign in, verify an address, follow incidents, units and live events.
// Plain browser JavaScript: the page is served by the app itself and needs no network beyond it.
"use strict";

const STRINGS = {
  "zh-CN": {
    title: "指挥调度", signin: "登录", username: "用户名", password: "密码", logout: "退出",
    address: "地址核实", addressHint: "地址、地标或坐标", incidents: "警情", units: "力量",
    events: "实时事件", number: "编号", type: "类型", priority: "优先级", status: "状态",
    location: "地点", live: "实时", reconnecting: "重新连接…", noMatch: "没有找到",
    other: "English", newIncident: "新警情", pickAddress: "先核实地址", callerPhone: "报警电话",
    summary: "警情描述", create: "创建", assign: "派遣推荐力量", use: "采用", created: "已创建",
    duplicates: "可能重复", assigned: "已派遣", minutes: "分钟",
    totp: "动态验证码", totpHint: "如已设置(或恢复码)", changePassword: "修改密码",
    currentPassword: "当前密码", newPassword: "新密码", enrol: "设置动态验证码",
    enrolBegin: "生成密钥", secret: "密钥", enrolConfirm: "确认",
    recoveryCodes: "恢复码(每个仅可使用一次,请妥善保存)", continue: "继续",
    unlock: "解除登录锁定", unlockButton: "解除锁定", unlocked: "已解除锁定:",
  },
  en: {
    title: "Command and dispatch", signin: "Sign in", username: "Username", password: "Password",
    logout: "Sign out", address: "Address check", addressHint: "address, landmark or coordinates",
    incidents: "Incidents", units: "Units", events: "Live events", number: "Number", type: "Type",
    priority: "Priority", status: "Status", location: "Location", live: "live",
    reconnecting: "reconnecting…", noMatch: "nothing found", other: "中文",
    newIncident: "New incident", pickAddress: "verify an address first", callerPhone: "Caller phone",
    summary: "What happened", create: "Create", assign: "Assign the recommended units", use: "use",
    created: "created", duplicates: "probably the same as", assigned: "assigned", minutes: "min",
    totp: "One-time code", totpHint: "if set up (or a recovery code)",
    changePassword: "Change password", currentPassword: "Current password",
    newPassword: "New password", enrol: "Set up one-time codes", enrolBegin: "Make a secret",
    secret: "Secret", enrolConfirm: "Confirm",
    recoveryCodes: "Recovery codes (each works once; keep them safe)", continue: "Continue",
    unlock: "Unlock a sign-in", unlockButton: "Unlock", unlocked: "unlocked:",
  },
};

const state = {
  lang: localStorage.getItem("cad.lang") || "zh-CN",
  token: sessionStorage.getItem("cad.token"),
  lastSeq: Number(sessionStorage.getItem("cad.lastSeq") || 0),
  region: null,
  socket: null,
  place: null,
  types: [],
  incident: null,
  recommended: [],
};

const $ = (sel) => document.querySelector(sel);
const t = (key) => STRINGS[state.lang][key] || key;

function translate() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.placeholder = t(el.dataset.i18nPlaceholder);
  }
  $("#lang").textContent = t("other");
}

async function api(path, options = {}) {
  const headers = { "Content-Type": "application/json", ...(options.headers || {}) };
  const token = state.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`/api/v1${path}`, { ...options, headers });
  const json = response.status !== 204 && response.headers.get("content-type")?.includes("json");
  const body = json ? await response.json() : null;
  // Only a refusal of the current token signs out (not a request sent before signing in).
  if (response.status === 401 && token && token === state.token) signOut();
  if (!response.ok) {
    const error = new Error(body?.message || `HTTP ${response.status}`);
    error.code = body?.code;
    throw error;
  }
  return body;
}

async function showHealth() {
  try {
    const health = await fetch("/api/v1/health").then((r) => r.json());
    $("#health").replaceChildren(...Object.entries(health.parts).map(([name, part]) => {
      const badge = document.createElement("span");
      badge.className = part.status;
      badge.textContent = name;
      badge.title = part.detail || part.status;
      return badge;
    }));
  } catch { /* the next poll tries again */ }
}

function signOut() {
  state.token = null;
  sessionStorage.removeItem("cad.token");
  state.socket?.close();
  $("#console-view").hidden = true;
  $("#step-view").hidden = true;
  $("#signin-view").hidden = false;
  $("#logout").hidden = true;
  $("#who").textContent = "";
}

async function signIn(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const credentials = { username: form.get("username"), password: form.get("password") };
    if (form.get("totp")) credentials.totp = form.get("totp");
    const session = await api("/auth/login", { method: "POST", body: JSON.stringify(credentials) });
    state.token = session.token;
    sessionStorage.setItem("cad.token", session.token);
    $("#signin-error").textContent = "";
    event.target.reset();
    if (session.limited_to) showStep(session.limited_to, session.notice);
    else await start();
  } catch (error) {
    $("#signin-error").textContent = error.message;
  }
}

// A session limited to one step: change the reset password, or set up the second factor.
function showStep(code, notice) {
  $("#signin-view").hidden = true;
  $("#console-view").hidden = true;
  $("#step-view").hidden = false;
  $("#logout").hidden = false;
  $("#step-notice").textContent = notice || code;
  $("#step-error").textContent = "";
  $("#password-change").hidden = code !== "auth.password_change_required";
  $("#totp-enrol").hidden = code !== "auth.totp_enrolment_required";
  $("#recovery").hidden = true;
}

async function stepDone() {
  $("#step-view").hidden = true;
  await start();
}

async function changePassword(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    await api("/auth/password", {
      method: "POST",
      body: JSON.stringify({ current: form.get("current"), new: form.get("new") }),
    });
    event.target.reset();
    await stepDone();
  } catch (error) {
    if (error.code === "auth.totp_enrolment_required") showStep(error.code, error.message);
    else $("#step-error").textContent = error.message;
  }
}

async function beginEnrolment() {
  try {
    const enrolment = await api("/auth/totp/enrol", { method: "POST" });
    // As text: typed or pasted into an authenticator app (no QR library is loaded).
    $("#totp-secret").textContent = enrolment.secret;
    $("#totp-uri").textContent = enrolment.uri;
  } catch (error) {
    $("#step-error").textContent = error.message;
  }
}

async function confirmEnrolment(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  try {
    const result = await api("/auth/totp/confirm", {
      method: "POST",
      body: JSON.stringify({ code: form.get("code") }),
    });
    event.target.reset();
    $("#totp-enrol").hidden = true;
    $("#recovery-codes").replaceChildren(...result.recovery_codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }));
    $("#recovery").hidden = false;
  } catch (error) {
    $("#step-error").textContent = error.message;
  }
}

async function unlockAccount(event) {
  event.preventDefault();
  const username = new FormData(event.target).get("username").trim();
  try {
    await api(`/users/${encodeURIComponent(username)}/unlock`, { method: "POST" });
    $("#unlock-result").textContent = `${t("unlocked")} ${username}`;
    event.target.reset();
  } catch (error) {
    $("#unlock-result").textContent = error.message;
  }
}

async function start() {
  const me = await api("/auth/me");
  // A session limited to one step (kept over a reload) still has that step to take.
  if (me.limited_to) {
    showStep(me.limited_to, "");
    return;
  }
  state.region = me.region;
  $("#who").textContent = `${me.name} (${me.roles.join(", ")}${me.command_level ? ` · ${me.command_level}` : ""})`;
  $("#signin-view").hidden = true;
  $("#console-view").hidden = false;
  $("#logout").hidden = false;
  // Supervisors clear an account's failed sign-ins (from every address).
  $("#unlock").hidden = !me.roles.some((r) => r === "supervisor" || r === "admin");
  connectEvents();
  loadTypes();
  document.dispatchEvent(new CustomEvent("cad:signed-in", { detail: { region: state.region, token: state.token } }));
  refreshIncidents();
  refreshUnits();
}

// Live events: resume from the last sequence seen, so nothing is missed or shown twice.
function connectEvents() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const url = `${scheme}://${location.host}/api/v1/events/ws?after=${state.lastSeq}&token=${encodeURIComponent(state.token)}`;
  const socket = new WebSocket(url);
  state.socket = socket;
  socket.onopen = () => { $("#feed-state").textContent = t("live"); };
  socket.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.seq <= state.lastSeq) return;
    state.lastSeq = event.seq;
    sessionStorage.setItem("cad.lastSeq", String(event.seq));
    const item = document.createElement("li");
    item.dataset.seq = event.seq;
    item.textContent = `#${event.seq} ${event.at.slice(11, 19)} ${event.type} ${event.subject_type}:${event.subject_id}`;
    $("#events").prepend(item);
    while ($("#events").children.length > 200) $("#events").lastChild.remove();
    if (event.subject_type === "incident") refreshIncidents();
    if (event.subject_type === "unit") refreshUnits();
  };
  socket.onclose = (closed) => {
    if (!state.token || closed.code === 4401 || closed.code === 4403) return;
    $("#feed-state").textContent = t("reconnecting");
    setTimeout(connectEvents, 1000);
  };
}

async function refreshIncidents() {
  try {
    const { incidents } = await api("/incidents");
    $("#incidents tbody").replaceChildren(...incidents.map((inc) => {
      const row = document.createElement("tr");
      const name = inc.type_names?.[state.lang] || inc.type;
      for (const text of [inc.number, name, `P${inc.priority}`, inc.status, inc.address]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }));
  } catch { /* not every role reads incidents */ }
}

async function refreshUnits() {
  try {
    const board = await api("/units/board");
    $("#unit-counts").replaceChildren(...Object.entries(board.counts).filter(([, n]) => n).map(([status, n]) => {
      const item = document.createElement("li");
      item.textContent = `${status}: ${n}`;
      return item;
    }));
    $("#unit-alerts").replaceChildren(...board.alerts.map((alert) => {
      const item = document.createElement("li");
      item.textContent = `${alert.unit_id} ${alert.code} (${alert.elapsed_s} s)`;
      return item;
    }));
  } catch { /* not every role reads the board */ }
}

let typing = null;
function onType() {
  clearTimeout(typing);
  const q = $("#q").value.trim();
  if (q.length < 2) return;
  typing = setTimeout(async () => {
    const params = new URLSearchParams({ q, region: state.region });
    const { suggestions } = await api(`/gis/typeahead?${params}`);
    $("#suggestions").replaceChildren(...suggestions.map((s) => {
      const option = document.createElement("option");
      option.value = s.text;
      return option;
    }));
  }, 80);
}

async function geocode(event) {
  if (event.key !== "Enter") return;
  const params = new URLSearchParams({ q: $("#q").value, region: state.region });
  try {
    const { candidates } = await api(`/gis/geocode?${params}`);
    if (!candidates.length) {
      $("#candidates").replaceChildren(Object.assign(document.createElement("li"), { textContent: t("noMatch") }));
      return;
    }
    document.dispatchEvent(new CustomEvent("cad:candidates", { detail: candidates }));
    $("#candidates").replaceChildren(...candidates.map((c) => {
      const item = document.createElement("li");
      const kind = Object.assign(document.createElement("span"), { className: "kind", textContent: c.kind });
      item.append(kind, ` ${c.label} (${c.lat.toFixed(5)}, ${c.lon.toFixed(5)}) — ${c.explanation}`);
      const use = Object.assign(document.createElement("button"), { type: "button", textContent: t("use") });
      use.addEventListener("click", () => choosePlace(c));
      item.append(use);
      return item;
    }));
  } catch (error) {
    $("#candidates").replaceChildren(Object.assign(document.createElement("li"), { textContent: error.message, className: "error" }));
  }
}

// A call becomes an incident at the verified place, with the recommended units to send.
async function loadTypes() {
  try {
    state.types = (await api("/incidents/types")).types;
    renderTypes();
  } catch { /* roles that cannot create incidents */ }
}

function renderTypes() {
  const select = $("#incident-form select[name=type]");
  const chosen = select.value;
  select.replaceChildren(...state.types.map((type) => {
    const option = document.createElement("option");
    option.value = type.code;
    option.textContent = `${type.names[state.lang] || type.code} (${type.code})`;
    return option;
  }));
  if (chosen) select.value = chosen;
}

function choosePlace(candidate) {
  state.place = candidate;
  $("#chosen-place").textContent = `${candidate.label} (${candidate.lat.toFixed(5)}, ${candidate.lon.toFixed(5)})`;
  $("#incident-form button[type=submit]").disabled = false;
}

async function createIncident(event) {
  event.preventDefault();
  if (!state.place) return;
  const form = new FormData(event.target);
  $("#recommendation").replaceChildren();
  $("#assign").hidden = true;
  $("#assign-result").textContent = "";
  try {
    const created = await api("/incidents", {
      method: "POST",
      body: JSON.stringify({
        type: form.get("type"), lon: state.place.lon, lat: state.place.lat,
        address: state.place.label, caller_phone: form.get("caller_phone"),
        summary: form.get("summary"), recommend: true,
      }),
    });
    state.incident = created.incident;
    const dupes = created.probable_duplicates.map((d) => `${d.number} (${d.distance_m} m)`).join(", ");
    $("#incident-result").textContent = `${created.incident.number} ${t("created")}` + (dupes ? ` — ${t("duplicates")} ${dupes}` : "");
    state.recommended = created.recommendation.chosen.map((c) => c.unit_id);
    $("#recommendation").replaceChildren(...created.recommendation.chosen.map((c) => {
      const item = document.createElement("li");
      item.dataset.unit = c.unit_id;
      const minutes = (c.drive_time_s / 60).toFixed(1);
      item.textContent = `${c.callsign} — ${minutes} ${t("minutes")} — ${c.reason.text}`;
      return item;
    }));
    $("#assign").hidden = state.recommended.length === 0;
  } catch (error) {
    $("#incident-result").textContent = error.message;
  }
}

async function assignRecommended() {
  try {
    const done = await api(`/incidents/${state.incident.id}/assignments`, {
      method: "POST", body: JSON.stringify({ unit_ids: state.recommended }),
    });
    $("#assign-result").textContent = `${t("assigned")}: ${done.assignments.map((a) => a.unit_id).join(", ")}`;
    $("#assign").hidden = true;
  } catch (error) {
    $("#assign-result").textContent = error.message;
  }
}

$("#incident-form").addEventListener("submit", createIncident);
$("#assign").addEventListener("click", assignRecommended);
$("#signin").addEventListener("submit", signIn);
$("#password-change").addEventListener("submit", changePassword);
$("#totp-begin").addEventListener("click", beginEnrolment);
$("#totp-enrol").addEventListener("submit", confirmEnrolment);
$("#unlock-form").addEventListener("submit", unlockAccount);
$("#recovery-done").addEventListener("click", () => stepDone().catch(signOut));
$("#logout").addEventListener("click", async () => {
  try { await api("/auth/logout", { method: "POST" }); } finally { signOut(); }
});
$("#lang").addEventListener("click", () => {
  state.lang = state.lang === "zh-CN" ? "en" : "zh-CN";
  localStorage.setItem("cad.lang", state.lang);
  translate();
  renderTypes();
  refreshIncidents();
});
$("#q").addEventListener("input", onType);
$("#q").addEventListener("keydown", geocode);

translate();
showHealth();
setInterval(showHealth, 10000);
if (state.token) start().catch(signOut);
