// The front's answers when the app cannot give them (njs, loaded by statuspage.conf).
//
// banner(): banner.json from the static snapshot, the audience's own when the copy has it;
// once the copy's valid_until has passed, its "status unknown" form instead, so an app
// never reads a stale green. unavailable(): what is in no copy, a 503 that is JSON for a
// JSON URL (never an HTML error page for a client that parses JSON).

import fs from "fs";

var AUDIENCE = /^[-A-Za-z0-9_]+$/;

function read(path) {
    try {
        return fs.readFileSync(path, "utf8");
    } catch (e) {
        return null;
    }
}

function stillValid(body) {
    try {
        return Date.parse(JSON.parse(body).valid_until) > Date.now();
    } catch (e) {
        return false;
    }
}

function snapshotBanner(r, directory) {
    var audience = r.args.audience;
    if (audience && AUDIENCE.test(audience)) {
        var own = read(directory + "banner.audience-" + audience + ".json");
        if (own !== null) {
            return own;
        }
    }
    return read(directory + "banner.json");
}

function sendJson(r, status, body) {
    r.headersOut["Content-Type"] = "application/json; charset=utf-8";
    r.headersOut["Access-Control-Allow-Origin"] = "*";
    r.headersOut["X-Status-Source"] = "snapshot";
    r.headersOut["Cache-Control"] = status === 200 ? "public, max-age=5" : "no-store";
    if (status !== 200) {
        r.headersOut["Retry-After"] = "30";
    }
    r.return(status, body);
}

function banner(r) {
    var directory = r.variables.snapshot_dir + "/api/v1/";
    var body = snapshotBanner(r, directory);
    if (body === null || !stillValid(body)) {
        body = read(directory + "banner.unknown.json");
    }
    if (body === null) {
        return unavailable(r);
    }
    sendJson(r, 200, body);
}

function unavailable(r) {
    var json = /\.json$/.test(r.uri);
    var body = read(r.variables.fallback_dir + (json ? "/unavailable.json" : "/unavailable.html"));
    if (json) {
        sendJson(r, 503, body || '{"status": "unknown"}');
        return;
    }
    r.headersOut["Content-Type"] = "text/html; charset=utf-8";
    r.headersOut["Cache-Control"] = "no-store";
    r.headersOut["Retry-After"] = "30";
    r.return(503, body || "Status unknown");
}

export default { banner, unavailable };
