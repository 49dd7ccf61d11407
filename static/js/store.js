/* The device's copy of the patient's log and the outbox of changes waiting for the server.
 *
 * Shared by the pages (a deferred classic script) and the service worker (importScripts), so
 * Background Sync runs the very same code as a page. Every check-in, assessment and infusion
 * change is written to the outbox first, in one IndexedDB transaction with the local record,
 * then sent with POST /api/v1/sync; it leaves the outbox only when the server acknowledges
 * that exact change. Client-made ids make every retry safe.
 */
(function (scope) {
  "use strict";
  var DB_NAME = "afterglow";
  var DB_VERSION = 1;
  var BATCH = 500; // the server's limit per sync request
  var MAX_ROUNDS = 20;
  var dbPromise = null;
  var channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("afterglow") : null;
  var listeners = [];

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore("meta");
          db.createObjectStore("records", { keyPath: "key" }).createIndex("kind", "kind");
          db.createObjectStore("outbox", { keyPath: "key" });
        };
        request.onsuccess = function () {
          var db = request.result;
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  /* One transaction: `body(tx, done)` issues requests; done(value) sets what the promise gives. */
  function run(stores, mode, body) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(stores, mode);
        var value;
        tx.oncomplete = function () { resolve(value); };
        tx.onerror = tx.onabort = function () { reject(tx.error || new Error("IndexedDB failed")); };
        body(tx, function (v) { value = v; });
      });
    });
  }

  function keyOf(kind, id) { return kind + ":" + id; }

  function emit(message) {
    listeners.forEach(function (fn) { try { fn(message); } catch (e) { /* a page bug must not stop sync */ } });
    if (channel) channel.postMessage(message);
  }
  if (channel) channel.onmessage = function (event) {
    listeners.forEach(function (fn) { try { fn(event.data); } catch (e) { /* ignore */ } });
  };

  function getMeta(key) {
    return run(["meta"], "readonly", function (tx, done) {
      tx.objectStore("meta").get(key).onsuccess = function (e) { done(e.target.result); };
    });
  }

  function setMeta(key, value) {
    return run(["meta"], "readwrite", function (tx) { tx.objectStore("meta").put(value, key); });
  }

  function records(kind) {
    return run(["records"], "readonly", function (tx, done) {
      tx.objectStore("records").index("kind").getAll(kind).onsuccess = function (e) {
        done(e.target.result.filter(function (r) { return !r.deleted; }));
      };
    });
  }

  function record(kind, id) {
    return run(["records"], "readonly", function (tx, done) {
      tx.objectStore("records").get(keyOf(kind, id)).onsuccess = function (e) { done(e.target.result); };
    });
  }

  function outbox() {
    return run(["outbox"], "readonly", function (tx, done) {
      tx.objectStore("outbox").getAll().onsuccess = function (e) {
        done(e.target.result.sort(function (a, b) { return a.queued - b.queued; }));
      };
    });
  }

  var lastQueued = 0;
  /* Save a change on this device: the record and its outbox entry, atomically. A later change to
     the same entry replaces the earlier one in the outbox (the server keeps the latest anyway). */
  function queue(kind, id, op, data) {
    var now = new Date();
    var queued = Math.max(now.getTime(), lastQueued + 1);
    lastQueued = queued;
    var change = {
      key: keyOf(kind, id), kind: kind, id: id, op: op,
      updated_at: now.toISOString(), data: op === "delete" ? null : data, queued: queued
    };
    return run(["records", "outbox"], "readwrite", function (tx) {
      tx.objectStore("outbox").put(change);
      tx.objectStore("records").put({
        key: change.key, kind: kind, id: id, deleted: op === "delete", data: change.data,
        updated_at: change.updated_at, state: "pending", problem: null
      });
    }).then(function () {
      emit({ type: "changed" });
      return change;
    });
  }

  function pendingCount() {
    return run(["outbox"], "readonly", function (tx, done) {
      tx.objectStore("outbox").count().onsuccess = function (e) { done(e.target.result); };
    });
  }

  function wipe() {
    return run(["meta", "records", "outbox"], "readwrite", function (tx) {
      tx.objectStore("meta").clear();
      tx.objectStore("records").clear();
      tx.objectStore("outbox").clear();
    }).then(function () { emit({ type: "changed" }); });
  }

  /* The signed-in account on this device. Another person's data is never kept alongside. */
  function setAccount(me) {
    return getMeta("account").then(function (known) {
      var step = known && known.id !== me.id ? wipe() : Promise.resolve();
      return step.then(function () { return setMeta("account", me); });
    });
  }

  function SyncError(message, status) {
    this.name = "SyncError";
    this.message = message;
    this.status = status;
  }
  SyncError.prototype = Object.create(Error.prototype);

  /* Apply the server's answer: acknowledged changes leave the outbox (only if not changed again
     meanwhile), and other devices' changes update local records that have nothing pending. */
  function applyReply(sent, reply) {
    var byId = {};
    sent.forEach(function (c) { byId[c.id] = c; });
    var refetch = false;
    return run(["records", "outbox", "meta"], "readwrite", function (tx) {
      var box = tx.objectStore("outbox");
      var recs = tx.objectStore("records");
      (reply.results || []).forEach(function (result) {
        var change = byId[result.id];
        if (!change) return;
        // Superseded: the server holds something newer we may have skipped. Refused (409): the
        // entry is final there (a questionnaire); either way, re-read what the server holds.
        if (result.status === "superseded") refetch = true;
        if (result.status === "rejected" && result.problem && result.problem.status === 409) {
          refetch = true;
        }
        box.get(change.key).onsuccess = function (e) {
          var current = e.target.result;
          if (current && current.updated_at === change.updated_at && current.op === change.op) {
            box.delete(change.key);
          }
        };
        recs.get(change.key).onsuccess = function (e) {
          var rec = e.target.result;
          if (!rec || rec.updated_at !== change.updated_at) return; // edited again since
          if (result.status === "rejected") {
            rec.state = "rejected";
            rec.problem = (result.problem && (result.problem.detail || result.problem.title)) ||
              "The server could not accept this entry.";
            recs.put(rec);
          } else if (rec.deleted) {
            recs.delete(change.key);
          } else {
            rec.state = "synced";
            rec.problem = null;
            recs.put(rec);
          }
        };
      });
      (reply.changes || []).forEach(function (change) {
        var key = keyOf(change.kind, change.id);
        box.get(key).onsuccess = function (e) {
          if (e.target.result) return; // a local change waits; the server will rule on it
          if (change.op === "delete") {
            recs.delete(key);
          } else {
            recs.put({
              key: key, kind: change.kind, id: change.id, deleted: false, data: change.data,
              updated_at: change.updated_at, state: "synced", problem: null
            });
          }
        };
      });
      tx.objectStore("meta").put(refetch ? null : reply.cursor, "cursor");
    }).then(function () { return refetch; });
  }

  function syncOnce(csrfToken) {
    return Promise.all([outbox(), getMeta("cursor"), csrfToken()]).then(function (got) {
      var pending = got[0].slice(0, BATCH);
      var body = {
        changes: pending.map(function (c) {
          var change = { kind: c.kind, id: c.id, op: c.op, updated_at: c.updated_at };
          if (c.op !== "delete") change.data = c.data;
          return change;
        }),
        since: got[1] || null
      };
      return fetch("/api/v1/sync", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": got[2] || "" },
        body: JSON.stringify(body)
      }).then(function (response) {
        if (!response.ok) {
          return response.json().catch(function () { return {}; }).then(function (problem) {
            throw new SyncError(problem.detail || "Sync failed (" + response.status + ").", response.status);
          });
        }
        return response.json().then(function (reply) {
          return applyReply(pending, reply).then(function (refetch) {
            return {
              sent: pending.length,
              more: refetch || pending.length === BATCH || reply.more === true || reply.has_more === true
            };
          });
        });
      });
    });
  }

  var running = null;
  var again = false;

  /* Send the outbox and pull other devices' changes. One sync at a time per device (Web Locks
     where the browser has them, across tabs and the service worker). Never throws. */
  function sync(csrfToken) {
    if (running) { again = true; return running; }
    var work = function () {
      var rounds = 0;
      var loop = function () {
        return syncOnce(csrfToken).then(function (result) {
          rounds += 1;
          if ((result.more || again) && rounds < MAX_ROUNDS) { again = false; return loop(); }
          return result;
        });
      };
      return loop().then(function (result) {
        return sendReceipts(csrfToken).catch(function () { return null; }).then(function () { return result; });
      });
    };
    var locks = scope.navigator && scope.navigator.locks;
    var locked = locks ? locks.request("afterglow-sync", work) : work();
    running = locked.then(function () {
      var state = { ok: true, at: new Date().toISOString() };
      return setMeta("sync", state).then(function () { return state; });
    }, function (error) {
      var state = {
        ok: false, at: new Date().toISOString(), status: error.status || 0,
        error: error instanceof SyncError ? error.message : "offline"
      };
      return setMeta("sync", state).then(function () { return state; });
    }).then(function (state) {
      running = null;
      if (again) { again = false; setTimeout(function () { sync(csrfToken); }, 0); }
      emit({ type: "synced", state: state });
      if (state.status === 401) emit({ type: "signed-out" });
      return state;
    });
    return running;
  }

  /* Receipts of reminders ("shown", "opened"): kept in `meta` until the server has them, like
     any change, and sent with every sync. A receipt names the reminder and this device only. */
  function addReceipt(reminder, event) {
    return getMeta("device").then(function (device) {
      return run(["meta"], "readwrite", function (tx) {
        var meta = tx.objectStore("meta");
        meta.get("receipts").onsuccess = function (e) {
          var list = e.target.result || [];
          var known = list.some(function (r) { return r.reminder === reminder && r.event === event; });
          if (!known) {
            list.push({ reminder: reminder, event: event, at: new Date().toISOString(), device: device || null });
            meta.put(list.slice(-200), "receipts");
          }
        };
      });
    });
  }

  function sendReceipts(csrfToken) {
    return Promise.all([getMeta("receipts"), csrfToken()]).then(function (got) {
      var list = (got[0] || []).slice(0, 100);
      if (!list.length) return null;
      return fetch("/api/v1/push/receipts", {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": got[1] || "" },
        body: JSON.stringify({ receipts: list })
      }).then(function (response) {
        // 4xx: the server will never take these (signed out, another account): drop them.
        if (!response.ok && response.status !== 400 && response.status !== 403 && response.status !== 422) return null;
        return run(["meta"], "readwrite", function (tx) {
          var meta = tx.objectStore("meta");
          meta.get("receipts").onsuccess = function (e) {
            var sent = {};
            list.forEach(function (r) { sent[r.reminder + r.event] = true; });
            meta.put((e.target.result || []).filter(function (r) { return !sent[r.reminder + r.event]; }), "receipts");
          };
        });
      });
    });
  }

  /* The moment of need (issue 13): the latest check-in has mood 0, or it and the one before it
   * are both 0 or 1. Decided here from the phone's own records, so it holds offline. */
  function lowMood(checkins) {
    var live = checkins.filter(function (r) { return r.data && !r.deleted; }).sort(function (a, b) {
      return new Date(b.data.recorded_at) - new Date(a.data.recorded_at);
    });
    if (!live.length) return false;
    if (live[0].data.mood === 0) return true;
    return live.length > 1 && live[0].data.mood <= 1 && live[1].data.mood <= 1;
  }

  scope.Afterglow = {
    lowMood: lowMood, getMeta: getMeta, setMeta: setMeta, records: records, record: record, outbox: outbox,
    queue: queue, pendingCount: pendingCount, wipe: wipe, setAccount: setAccount, sync: sync,
    addReceipt: addReceipt, sendReceipts: sendReceipts,
    on: function (fn) { listeners.push(fn); }
  };
})(self);
