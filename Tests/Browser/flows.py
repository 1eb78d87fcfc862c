"""The web UI driven in a real Chromium, as people use it.

Run by BrowserTests (Swift) against a live server:
    flows.py BASE_URL SCREENSHOT_DIR
with CRONIUM_UI_ADMIN and CRONIUM_UI_VIEWER set to "name:password" of an admin and a viewer.
Prints one JSON object a line: {"flow", "ok", "error"?, "metrics"?}; exits 0 even when a flow
fails, so that every flow reports (the Swift test checks each line).
"""
import base64
import hashlib
import json
import os
import sys
import time
import traceback

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = sys.argv[1].rstrip("/")
SHOTS = sys.argv[2]
ADMIN = os.environ["CRONIUM_UI_ADMIN"].split(":", 1)
VIEWER = os.environ["CRONIUM_UI_VIEWER"].split(":", 1)
# The tests' own sshd: "host port user password", and its host key's line.
SSH = os.environ.get("CRONIUM_UI_SSH", "").split(" ")
SSH_HOST_KEY = os.environ.get("CRONIUM_UI_SSH_HOST_KEY", "")
# A local HTTP receiver for a webhook tool.
WEBHOOK = os.environ.get("CRONIUM_UI_WEBHOOK", "")
# Slow machines (two cores running the whole suite) get time; a working page needs far less.
WAIT = 30


def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait(driver, condition, timeout=WAIT):
    # Pages redraw as runs go: an element found a moment ago may have been replaced.
    return WebDriverWait(driver, timeout, ignored_exceptions=(StaleElementReferenceException,)).until(condition)


def by_id(driver, element_id):
    return wait(driver, EC.presence_of_element_located((By.ID, element_id)))


def shows(driver, text):
    """Waits until the page's main area shows `text`."""
    wait(driver, lambda d: text in d.find_element(By.TAG_NAME, "main").text)


def run_to_end(driver, event, timeout=60):
    """Starts a run of `event` through the API and waits for its end; answers its id."""
    run = json.loads(api(driver, "POST", f"/api/v1/events/{event}/run", {})["body"])["executionId"]
    deadline = time.time() + timeout
    while json.loads(api(driver, "GET", f"/api/v1/executions/{run}")["body"])["status"] in ("PENDING", "RUNNING"):
        assert time.time() < deadline, f"run {run} did not end"
        time.sleep(0.1)
    return run


def sign_in(driver, user, path="/"):
    driver.get(BASE + path)
    by_id(driver, "username").send_keys(user[0])
    driver.find_element(By.ID, "password").send_keys(user[1] + Keys.ENTER)
    wait(driver, lambda d: "/sign-in" not in d.current_url)


def sign_out(driver):
    driver.find_element(By.XPATH, "//button[text()='Sign out']").click()
    wait(driver, lambda d: "/sign-in" in d.current_url)


def api(driver, method, path, body=None, csrf=True):
    """A request from inside the page, with the session cookie (and the page's CSRF token)."""
    return driver.execute_async_script(
        """
        const [method, path, body, csrf, done] = arguments;
        (async () => {
          const headers = {'Content-Type': 'application/json'};
          if (csrf) {
            const session = await (await fetch('/api/v1/auth/session')).json();
            if (session.csrfToken) headers['X-CSRF-Token'] = session.csrfToken;
          }
          const response = await fetch(path, {method, headers, body: body === null ? undefined : JSON.stringify(body)});
          return {status: response.status, body: await response.text()};
        })().then(done, (error) => done({status: 0, body: String(error)}));
        """,
        method, path, body, csrf)


def console_errors(driver):
    """Errors in the browser's console: script errors, CSP refusals, files that failed to load.
    An API call the server refused (4xx) is logged by the browser too; the flows provoke those on
    purpose (a wrong password, a viewer's write) and the pages show them, so they are left out."""
    return [
        entry["message"] for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
        and not (entry.get("source") == "network" and "/api/v1/" in entry["message"] and " status of 4" in entry["message"])
    ]


def screenshot(driver, name):
    """The page as it is, in the light theme and the dark one."""
    os.makedirs(SHOTS, exist_ok=True)
    for theme in ("light", "dark"):
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": theme}]})
        time.sleep(0.1)
        # The whole page, not only the window (at most 3000 px tall).
        size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 3000), "scale": 1}
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        with open(os.path.join(SHOTS, f"{name}-{theme}.png"), "wb") as file:
            file.write(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})


def create_event(driver, name, script, shared=False, last_runs=None):
    driver.get(BASE + "/events/new")
    by_id(driver, "f-name").send_keys(name)
    content = driver.find_element(By.ID, "f-content")
    content.clear()
    content.send_keys(script)
    if shared:
        driver.find_element(By.ID, "f-shared").click()
    if last_runs is not None:
        driver.find_element(By.ID, "f-retention.lastRuns").send_keys(str(last_runs))
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    by_id(driver, "event-script")
    return int(driver.current_url.rstrip("/").split("/")[-1])


# -- The flows ---------------------------------------------------------------------------------

def flow_sign_in_and_out(driver):
    driver.get(BASE + "/events")
    wait(driver, lambda d: "/sign-in?next=%2Fevents" in d.current_url)
    screenshot(driver, "sign-in")
    by_id(driver, "username").send_keys(ADMIN[0])
    driver.find_element(By.ID, "password").send_keys("not the password" + Keys.ENTER)
    alert = wait(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "[role=alert]")))
    assert "wrong username or password" in alert.text, alert.text
    password = driver.find_element(By.ID, "password")
    password.clear()
    password.send_keys(ADMIN[1] + Keys.ENTER)
    by_id(driver, "event-search")
    assert driver.current_url.endswith("/events"), driver.current_url
    sign_out(driver)
    # The session ended on the server: the old page asks to sign in again.
    driver.get(BASE + "/events")
    wait(driver, lambda d: "/sign-in" in d.current_url)
    assert api(driver, "GET", "/api/v1/events", csrf=False)["status"] == 401


def flow_event_runs_with_a_live_log(driver):
    sign_in(driver, ADMIN, "/events")
    event_id = create_event(
        driver, "live log", shared=True, last_runs=50, script=
        'for i in 1 2 3 4 5 6; do echo "line $i"; echo "oops $i" >&2; sleep 0.4; done; printf "\\033[32mgreen\\033[0m done\\n"')
    screenshot(driver, "event")
    # The editor opens with what is stored.
    driver.find_element(By.LINK_TEXT, "Edit").click()
    content = by_id(driver, "f-content")
    assert 'echo "line $i"' in content.get_attribute("value"), content.get_attribute("value")
    assert driver.find_element(By.ID, "f-name").get_attribute("value") == "live log"
    assert driver.find_element(By.ID, "f-shared").is_selected()
    # Only the retention field that was filled in is the event's own; the others follow the server.
    assert json.loads(api(driver, "GET", f"/api/v1/events/{event_id}")["body"])["retention"] == {"lastRuns": 50}
    assert driver.find_element(By.ID, "f-retention.lastRuns").get_attribute("value") == "50"
    assert driver.find_element(By.ID, "f-retention.runsDays").get_attribute("placeholder") == "server default"
    # The script is highlighted, with line numbers, and stays a textarea to type in.
    keywords = [k.text for k in driver.find_elements(By.CSS_SELECTOR, ".code-shown .tok-keyword")]
    assert "for" in keywords and "do" in keywords and "done" in keywords, keywords
    assert '"line $i"' in [v.text for v in driver.find_elements(By.CSS_SELECTOR, ".code-shown .tok-string")]
    content.send_keys(Keys.END, Keys.ENTER, "# a comment")
    wait(driver, lambda d: [g.text for g in d.find_elements(By.CSS_SELECTOR, ".code-gutter div")] == ["1", "2"])
    assert driver.find_element(By.CSS_SELECTOR, ".code-shown .tok-comment").text == "# a comment"
    screenshot(driver, "event-editor")
    driver.find_element(By.LINK_TEXT, "Cancel").click()
    by_id(driver, "event-script")
    driver.find_element(By.XPATH, "//button[text()='Run now']").click()
    by_id(driver, "run-input").send_keys('{"who": "browser"}')
    driver.find_element(By.XPATH, "//button[@value='run']").click()
    log = by_id(driver, "log")
    wait(driver, lambda d: "line 1" in log.text)
    # A line arrived while the run was still going: it was followed live, not read at the end.
    assert "RUNNING" in driver.find_element(By.ID, "run-status").text, driver.find_element(By.ID, "run-status").text
    assert driver.find_element(By.ID, "log-state").text == "following"
    wait(driver, lambda d: d.find_element(By.ID, "log-state").text == "ended SUCCESS")
    wait(driver, lambda d: "SUCCESS" in d.find_element(By.ID, "run-status").text)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#log .line.stderr")) == 6
    assert driver.find_element(By.CSS_SELECTOR, "#log .ansi-32").text == "green"
    assert '{"who":"browser"}' in driver.find_element(By.TAG_NAME, "main").text
    search = driver.find_element(By.ID, "log-search")
    search.send_keys("oops")
    wait(driver, lambda d: d.find_element(By.ID, "log-hits").text == "6 matching lines")
    screenshot(driver, "run")
    # The dashboard counts it.
    driver.get(BASE + "/")
    wait(driver, lambda d: d.find_element(By.ID, "stat-success-rate").text == "100 %")
    screenshot(driver, "dashboard")
    driver.get(BASE + "/executions")
    by_id(driver, "filter-status")
    shows(driver, "live log")
    screenshot(driver, "runs")
    driver.get(BASE + f"/events?q=live")
    shows(driver, "live log")
    screenshot(driver, "events")
    sign_out(driver)
    return {"eventId": event_id}


def flow_what_users_typed_is_shown_never_run(driver):
    """A name full of markup is shown as the text it is, everywhere it appears."""
    sign_in(driver, ADMIN, "/events")
    hostile = '<img src=x onerror="document.title=1">&amp;<b>bold</b>'
    event = create_api_event(driver, hostile, "BASH", "echo '<script>document.title=2</script>'")
    run = run_to_end(driver, event)
    for path in ["/events", f"/events/{event}", f"/executions/{run}", "/executions", "/"]:
        driver.get(BASE + path)
        if path != "/":
            shows(driver, hostile)
        assert not driver.find_elements(By.CSS_SELECTOR, "main img[src=x], main b"), path
        assert driver.title not in ("1", "2"), path
    shows(driver, "Dashboard")
    driver.get(BASE + f"/executions/{run}")
    wait(driver, lambda d: "<script>document.title=2</script>" in d.find_element(By.ID, "log").text)
    assert api(driver, "DELETE", f"/api/v1/events/{event}")["status"] == 204
    sign_out(driver)


def flow_events_are_paused_deleted_and_runs_cancelled(driver):
    sign_in(driver, ADMIN, "/events")
    event = create_api_event(driver, "long job", "BASH", "echo started; sleep 60", status="ACTIVE")
    driver.get(BASE + "/events?q=long")
    shows(driver, "long job")
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Pause long job"]').click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'button[aria-label="Resume long job"]'))
    assert json.loads(api(driver, "GET", f"/api/v1/events/{event}")["body"])["status"] == "PAUSED"
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Resume long job"]').click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'button[aria-label="Pause long job"]'))
    # A run cancelled from its page ends CANCELLED, its log kept.
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Run long job now"]').click()
    driver.find_element(By.XPATH, "//button[@value='run']").click()
    wait(driver, lambda d: "started" in d.find_element(By.ID, "log").text)
    driver.find_element(By.XPATH, "//button[text()='Cancel run']").click()
    wait(driver, lambda d: "CANCELLED" in d.find_element(By.ID, "run-status").text)
    # Deleting asks first; Cancel keeps it, Delete removes it.
    driver.get(BASE + "/events?q=long")
    shows(driver, "long job")
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Delete long job"]').click()
    confirm(driver, "Cancel")
    assert api(driver, "GET", f"/api/v1/events/{event}")["status"] == 200
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Delete long job"]').click()
    confirm(driver, "Delete")
    shows(driver, "No event matches these filters.")
    assert api(driver, "GET", f"/api/v1/events/{event}")["status"] == 404
    sign_out(driver)


def flow_the_editor_shows_the_servers_problems_on_their_fields(driver):
    sign_in(driver, ADMIN, "/events/new")
    by_id(driver, "f-name")
    before = json.loads(api(driver, "GET", "/api/v1/events")["body"])
    driver.find_element(By.ID, "f-timeoutValue").clear()
    driver.find_element(By.ID, "f-timeoutValue").send_keys("0")
    # An action that sends a message through a tool, when there is none yet.
    driver.find_element(By.ID, "add-action").click()
    Select(driver.find_element(By.CSS_SELECTOR, '#actions select[aria-label="Then"]')).select_by_visible_text("send a message")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.ID, "e-name").text != "")
    assert driver.find_element(By.ID, "f-name").get_attribute("aria-invalid") == "true"
    assert driver.find_element(By.ID, "e-timeoutValue").text != ""
    assert driver.find_element(By.ID, "e-actions[0]").text != "", driver.find_element(By.ID, "actions").text
    screenshot(driver, "editor-problems")
    # Nothing was stored.
    assert json.loads(api(driver, "GET", "/api/v1/events")["body"]) == before
    sign_out(driver)


def flow_the_schedule_builder_shows_fires_and_clock_changes(driver):
    sign_in(driver, ADMIN, "/events/new")
    by_id(driver, "f-name").send_keys("nightly backup")
    Select(driver.find_element(By.ID, "f-triggerType")).select_by_visible_text("SCHEDULE")
    cron = by_id(driver, "sch-cron")
    cron.clear()
    cron.send_keys("61 * * * *")
    wait(driver, lambda d: "out of range" in d.find_element(By.ID, "e-schedule.cron").text)
    cron.clear()
    cron.send_keys("30 2 * * *")
    zone = driver.find_element(By.ID, "sch-timeZone")
    zone.clear()
    zone.send_keys("Europe/Berlin")
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#next-fires li")) == 5 and len(d.find_elements(By.CSS_SELECTOR, ".dst-notice")) == 2)
    notices = " ".join(n.text for n in driver.find_elements(By.CSS_SELECTOR, ".dst-notice"))
    assert "02:30 does not exist" in notices and "02:30 happens twice" in notices, notices
    assert driver.find_element(By.ID, "e-schedule.cron").text == ""
    screenshot(driver, "schedule-builder")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    by_id(driver, "event-script")
    event_id = int(driver.current_url.rstrip("/").split("/")[-1])
    saved = json.loads(api(driver, "GET", f"/api/v1/events/{event_id}")["body"])
    assert saved["schedule"]["cron"] == "30 2 * * *" and saved["schedule"]["timeZone"] == "Europe/Berlin", saved
    assert saved["nextFireAt"], saved
    sign_out(driver)


def flow_a_viewer_sees_no_edit_controls(driver):
    sign_in(driver, VIEWER, "/events")
    shows(driver, "live log")
    main = driver.find_element(By.TAG_NAME, "main")
    assert not main.find_elements(By.XPATH, ".//*[text()='New event' or text()='Run' or text()='Delete' or text()='Pause']")
    driver.find_element(By.LINK_TEXT, "live log").click()
    by_id(driver, "event-script")
    assert not driver.find_elements(By.XPATH, "//button[text()='Run now']")
    # And the API refuses it anyway.
    refused = api(driver, "POST", "/api/v1/events", {"name": "sneaky", "type": "BASH", "content": "true"})
    assert refused["status"] == 403, refused
    sign_out(driver)


def flow_a_write_without_the_csrf_token_is_refused(driver):
    sign_in(driver, ADMIN, "/account")
    by_id(driver, "token-name")
    screenshot(driver, "account")
    refused = api(driver, "POST", "/api/v1/tokens", {"name": "forged"}, csrf=False)
    assert refused["status"] == 403 and "CSRF_REFUSED" in refused["body"], refused
    accepted = api(driver, "POST", "/api/v1/tokens", {"name": "real"})
    assert accepted["status"] == 201, accepted
    names = [t["name"] for t in json.loads(api(driver, "GET", "/api/v1/tokens")["body"])]
    assert "forged" not in names and "real" in names, names
    # Revoking asks first, then the token is marked and refused.
    driver.get(BASE + "/account")
    by_id(driver, "token-name")
    driver.find_element(By.CSS_SELECTOR, 'button[aria-label="Revoke real"]').click()
    confirm(driver, "Revoke")
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, 'button[aria-label="Revoke real"]'))
    assert all(t["revokedAt"] for t in json.loads(api(driver, "GET", "/api/v1/tokens")["body"]) if t["name"] == "real")
    sign_out(driver)


def flow_a_two_node_workflow_is_built_on_the_canvas_and_runs(driver):
    sign_in(driver, ADMIN, "/workflows")
    create_api_event(driver, "wf-first", "BASH", "cronium_output '{\"from\": \"first\"}'")
    create_api_event(driver, "wf-second", "BASH", 'echo "got $(cronium_input)"')
    driver.get(BASE + "/workflows/new")
    by_id(driver, "w-name").send_keys("two steps")
    for name in ("wf-first", "wf-second"):
        Select(driver.find_element(By.ID, "add-event")).select_by_visible_text(name)
        driver.find_element(By.ID, "add-node").click()
    drag(driver, "wf-first", "wf-second")
    # A connection back makes a cycle: saving names it on the connections and stores nothing.
    drag(driver, "wf-second", "wf-first")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#canvas g.edge")) == 2
    driver.find_element(By.ID, "save-workflow").click()
    problems = wait(driver, lambda d: d.find_element(By.ID, "workflow-problems").text)
    assert "cycle" in problems, problems
    assert driver.find_elements(By.CSS_SELECTOR, "#canvas g.node.problem"), "the nodes no root reaches are marked"
    screenshot(driver, "workflow-problems")
    assert json.loads(api(driver, "GET", "/api/v1/workflows")["body"]) == []
    # Take the connection back out, then save.
    driver.find_element(By.CSS_SELECTOR, '#canvas g.edge[data-index="1"] text').click()
    wait(driver, lambda d: "wf-second → wf-first" in d.find_element(By.ID, "side-panel").text)
    driver.find_element(By.XPATH, "//button[text()='Remove connection']").click()
    driver.find_element(By.CSS_SELECTOR, '#canvas g.node[data-key="wf-second"]').click()
    Select(by_id(driver, "node-join")).select_by_visible_text("all")
    screenshot(driver, "workflow-canvas")
    driver.find_element(By.ID, "save-workflow").click()
    wait(driver, lambda d: "/workflows/" in d.current_url and "new" not in d.current_url)
    saved = json.loads(api(driver, "GET", "/api/v1/workflows")["body"])
    assert [(c["from"], c["to"], c["when"]) for c in saved[0]["connections"]] == [("wf-first", "wf-second", "ON_SUCCESS")], saved
    assert saved[0]["nodes"][1].get("join") == "all", saved
    driver.find_element(By.XPATH, "//button[text()='Run now']").click()
    by_id(driver, "run-input").send_keys('{"day": "monday"}')
    driver.find_element(By.XPATH, "//button[@value='run']").click()
    wait(driver, lambda d: "/runs/" in d.current_url)
    wait(driver, lambda d: "SUCCESS" in d.find_element(By.ID, "run-status").text)
    rows = driver.find_element(By.ID, "run-nodes").text
    assert rows.count("SUCCESS") == 2, rows
    assert '{"from":"first"}' in rows, rows
    screenshot(driver, "workflow-run")
    driver.find_element(By.CSS_SELECTOR, '#run-graph g.node[data-key="wf-second"]').click()
    log = by_id(driver, "log")
    wait(driver, lambda d: 'got {"from":"first"}' in log.text)
    driver.get(BASE + "/workflows")
    shows(driver, "two steps")
    screenshot(driver, "workflows")
    sign_out(driver)


def confirm(driver, label):
    """Answers the page's confirmation dialog with its `label` button."""
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "dialog[open]"))
    driver.find_element(By.XPATH, f"//dialog[@open]//button[text()='{label}']").click()
    wait(driver, lambda d: not d.find_elements(By.CSS_SELECTOR, "dialog[open]"))


def drag(driver, source, target):
    """From a node's handle to another node, as a mouse does."""
    handle = driver.find_element(By.CSS_SELECTOR, f'#canvas g.node[data-key="{source}"] circle.handle')
    box = driver.find_element(By.CSS_SELECTOR, f'#canvas g.node[data-key="{target}"] rect')
    edges = len(driver.find_elements(By.CSS_SELECTOR, "#canvas g.edge"))
    ActionChains(driver).click_and_hold(handle).move_by_offset(10, 10).move_to_element(box).release().perform()
    wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#canvas g.edge")) == edges + 1)


def flow_a_server_is_added_after_its_key_is_confirmed(driver):
    sign_in(driver, ADMIN, "/servers")
    by_id(driver, "add-server").click()
    host, port, user, password = SSH
    by_id(driver, "s-name").send_keys("web-1")
    driver.find_element(By.ID, "s-host").send_keys(host)
    driver.find_element(By.ID, "s-port").clear()
    driver.find_element(By.ID, "s-port").send_keys(port)
    driver.find_element(By.ID, "s-username").send_keys(user)
    driver.find_element(By.ID, "s-password").send_keys(password)
    driver.find_element(By.XPATH, "//button[text()='Fetch the host key']").click()
    offered = by_id(driver, "offered-fingerprint").text
    # What `ssh-keygen -lf` prints for the host's key: the page shows the key the host really has.
    blob = base64.b64decode(SSH_HOST_KEY.split()[1])
    expected = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    assert offered == expected, (offered, expected)
    screenshot(driver, "server-add")
    driver.find_element(By.ID, "confirm-host-key").click()
    wait(driver, lambda d: d.current_url.endswith("/servers/web-1"))
    by_id(driver, "check-server").click()
    wait(driver, lambda d: "logged in" in d.find_element(By.ID, "server-check").text)
    check = driver.find_element(By.ID, "server-check").text
    assert "FAILURE" not in check, check
    assert expected in driver.find_element(By.TAG_NAME, "main").text
    screenshot(driver, "server")
    driver.get(BASE + "/servers")
    shows(driver, "web-1")
    screenshot(driver, "servers")
    sign_out(driver)


def flow_variables_users_and_secrets(driver):
    sign_in(driver, ADMIN, "/variables")
    by_id(driver, "v-key").send_keys("API_KEY")
    driver.find_element(By.ID, "v-value").send_keys("s3cr3t-value")
    driver.find_element(By.ID, "v-secret").click()
    driver.find_element(By.XPATH, "//button[text()='Save']").click()
    wait(driver, lambda d: "API_KEY" in d.find_element(By.TAG_NAME, "main").text and "write-only" in d.find_element(By.TAG_NAME, "main").text)
    assert "s3cr3t-value" not in driver.page_source
    screenshot(driver, "variables")
    driver.get(BASE + "/users")
    by_id(driver, "u-name").send_keys("newcomer")
    driver.find_element(By.XPATH, "//button[text()='Create user']").click()
    generated = by_id(driver, "new-password-shown").text
    assert len(generated) >= 16, generated
    screenshot(driver, "users")
    # This server has no container engine: the images page says so, and why.
    driver.get(BASE + "/images")
    wait(driver, lambda d: "cannot reach the container engine" in d.find_element(By.ID, "engine-status").text)
    assert "No engine: container runs cannot start" in driver.find_element(By.TAG_NAME, "main").text
    screenshot(driver, "images")
    sign_out(driver)
    sign_in(driver, ("newcomer", generated), "/")
    # Not an administrator: no Users page in the bar.
    assert not driver.find_elements(By.LINK_TEXT, "Users")
    sign_out(driver)


def flow_a_tool_is_added_tested_and_previewed(driver):
    sign_in(driver, ADMIN, "/tools")
    by_id(driver, "add-tool").click()
    by_id(driver, "t-name").send_keys("hooks")
    Select(driver.find_element(By.ID, "t-type")).select_by_visible_text("WEBHOOK")
    driver.find_element(By.ID, "t-url").send_keys(WEBHOOK)
    driver.find_element(By.XPATH, "//button[text()='Add the tool']").click()
    wait(driver, lambda d: d.current_url.endswith("/tools/hooks"))
    by_id(driver, "send-test").click()
    wait(driver, lambda d: "delivered" in d.find_element(By.ID, "tool-test").text)
    event = create_api_event(driver, "disk-alert", "BASH", 'cronium_send_message hooks "disk at 91%" "disk"')
    run = run_to_end(driver, event)
    driver.get(BASE + "/tools/hooks")
    wait(driver, lambda d: "disk at 91%" in d.find_element(By.ID, "tool-deliveries").text)
    by_id(driver, "preview-run").send_keys(str(run))
    driver.find_element(By.XPATH, "//button[text()='Preview']").click()
    wait(driver, lambda d: "disk-alert ended SUCCESS" in d.find_element(By.ID, "preview-result").text)
    screenshot(driver, "tool")
    driver.get(BASE + "/tools")
    shows(driver, "hooks")
    screenshot(driver, "tools")
    sign_out(driver)


def flow_an_http_request_and_a_message_are_made_in_the_editor(driver):
    sign_in(driver, ADMIN, "/events/new")
    by_id(driver, "f-name").send_keys("ping hook")
    Select(driver.find_element(By.ID, "f-type")).select_by_visible_text("HTTP_REQUEST")
    Select(driver.find_element(By.ID, "f-httpRequest.method")).select_by_visible_text("POST")
    driver.find_element(By.ID, "f-httpRequest.url").send_keys(WEBHOOK)
    driver.find_element(By.ID, "f-httpRequest.headers").send_keys("X-Sent-By: the editor")
    driver.find_element(By.ID, "f-httpRequest.body").send_keys('{"ping": 1}')
    assert not driver.execute_script(UNNAMED_CONTROLS)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, lambda d: "/events/new" not in d.current_url)
    event = int(driver.current_url.rstrip("/").split("/")[-1])
    saved = json.loads(api(driver, "GET", f"/api/v1/events/{event}")["body"])
    assert saved["httpRequest"] == {"method": "POST", "url": WEBHOOK, "headers": {"X-Sent-By": "the editor"}, "body": '{"ping": 1}'}, saved
    run = run_to_end(driver, event)
    assert json.loads(api(driver, "GET", f"/api/v1/executions/{run}")["body"])["status"] == "SUCCESS"
    # A message event through the tool the tools flow made.
    driver.get(BASE + "/events/new")
    by_id(driver, "f-name").send_keys("tell hooks")
    Select(driver.find_element(By.ID, "f-type")).select_by_visible_text("TOOL_ACTION")
    Select(driver.find_element(By.ID, "f-toolAction.tool")).select_by_visible_text("hooks (WEBHOOK)")
    driver.find_element(By.ID, "f-toolAction.message").send_keys("{{event.name}} says hi")
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver, lambda d: "/events/new" not in d.current_url)
    event = int(driver.current_url.rstrip("/").split("/")[-1])
    run = run_to_end(driver, event)
    assert json.loads(api(driver, "GET", f"/api/v1/executions/{run}")["body"])["status"] == "SUCCESS"
    driver.get(BASE + "/tools/hooks")
    wait(driver, lambda d: "tell hooks says hi" in d.find_element(By.ID, "tool-deliveries").text)
    sign_out(driver)


def flow_the_ledger_shows_each_occurrence(driver):
    sign_in(driver, ADMIN, "/events")
    created = api(driver, "POST", "/api/v1/events", {
        "name": "ticker", "type": "BASH", "content": "true", "status": "ACTIVE",
        "schedule": {"kind": "interval", "intervalSeconds": 1}})
    assert created["status"] == 201, created
    event = json.loads(created["body"])["id"]
    for _ in range(100):
        if len(json.loads(api(driver, "GET", f"/api/v1/events/{event}/ledger")["body"])) >= 2:
            break
        time.sleep(0.1)
    assert api(driver, "PATCH", f"/api/v1/events/{event}", {"status": "PAUSED"})["status"] == 200
    driver.get(BASE + f"/events/{event}")
    wait(driver, lambda d: d.find_elements(By.LINK_TEXT, "every occurrence and what became of it"))[0].click()
    wait(driver, lambda d: d.current_url.endswith(f"/events/{event}/ledger"))
    wait(driver, lambda d: d.find_element(By.ID, "ledger").text.count("RAN") >= 2)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#ledger-timeline rect.mark")) >= 2
    screenshot(driver, "ledger")
    sign_out(driver)


# Every visible control with no accessible name: no label, no aria-label, no text of its own.
UNNAMED_CONTROLS = """
return [...document.querySelectorAll('input, select, textarea, button, a[href]')]
  .filter((e) => e.offsetParent !== null && e.type !== 'hidden')
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby')
    && !e.textContent.trim() && !e.getAttribute('title') && !e.querySelector('img[alt]:not([alt=""])'))
  .map((e) => e.id || e.outerHTML.slice(0, 80));
"""


def flow_every_page_fits_a_phone(driver):
    """At a phone's width no page scrolls sideways (wide tables and graphs scroll inside their
    own boxes), and the bar of pages wraps; and on every page each control has a name that a
    screen reader can say."""
    sign_in(driver, ADMIN, "/")
    driver.set_window_size(390, 844)
    try:
        events = json.loads(api(driver, "GET", "/api/v1/events")["body"])
        runs = json.loads(api(driver, "GET", "/api/v1/executions?limit=1")["body"])
        workflows = json.loads(api(driver, "GET", "/api/v1/workflows")["body"])
        pages = ["/", "/events", f"/events/{events[0]['id']}", f"/events/{events[0]['id']}?edit", "/executions",
                 f"/executions/{runs[0]['id']}", "/workflows", f"/workflows/{workflows[0]['id']}", f"/workflows/{workflows[0]['id']}?edit",
                 "/servers", "/tools", "/variables", "/users", "/images", "/account"]
        for path in pages:
            driver.get(BASE + path)
            wait(driver, lambda d: d.execute_script("return performance.getEntriesByName('cronium:page-ready').length") > 0)
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{path} is {overflow} px wider than the phone"
            unnamed = driver.execute_script(UNNAMED_CONTROLS)
            assert not unnamed, f"{path} has controls a screen reader cannot name: {unnamed}"
        driver.get(BASE + "/")
        by_id(driver, "stat-running")
        screenshot(driver, "phone-dashboard")
        driver.get(BASE + f"/executions/{runs[0]['id']}")
        by_id(driver, "log")
        screenshot(driver, "phone-run")
    finally:
        driver.set_window_size(1280, 900)
    sign_out(driver)


def flow_measure(driver):
    """The figures docs/performance.md reports: first load, a fast log, a large stored log."""
    sign_in(driver, ADMIN, "/")
    metrics = {}
    # The dashboard's first load, with nothing cached.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.get(BASE + "/")
    by_id(driver, "stat-running")
    wait(driver, lambda d: d.execute_script("return performance.getEntriesByName('cronium:page-ready').length") > 0)
    metrics["dashboardFirstLoadBytes"] = driver.execute_script(
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
        ".reduce((sum, e) => sum + e.transferSize, 0)")
    metrics["dashboardReadyMs"] = round(driver.execute_script(
        "return performance.getEntriesByName('cronium:page-ready')[0].startTime"))

    # A run printing 10,000 lines a second for 3 s, followed live: every line arrives, and the
    # longest gap between two frames shows whether the page froze.
    fast = create_api_event(driver, "fast", "PYTHON",
        "import sys, time\nfor second in range(3):\n    start = time.time()\n"
        "    for i in range(10000):\n        print(f'{second} {i} ' + 'x' * 40)\n"
        "    sys.stdout.flush()\n    time.sleep(max(0, 1 - (time.time() - start)))\n")
    run = json.loads(api(driver, "POST", f"/api/v1/events/{fast}/run", {})["body"])["executionId"]
    driver.get(BASE + f"/executions/{run}")
    by_id(driver, "log")
    driver.execute_script("""
        window.__gaps = []; let last = performance.now();
        const tick = (now) => { window.__gaps.push(now - last); last = now; if (!window.__stop) requestAnimationFrame(tick); };
        requestAnimationFrame(tick);""")
    wait(driver, lambda d: d.find_element(By.ID, "log-state").text.startswith("ended"), timeout=60)
    wait(driver, lambda d: d.execute_script("return document.querySelectorAll('#log .line').length") >= 30000, timeout=30)
    gaps = driver.execute_script("window.__stop = true; return window.__gaps.slice(1)")
    metrics["fastLogLines"] = driver.execute_script("return document.querySelectorAll('#log .line').length")
    metrics["fastLogLongestFrameGapMs"] = round(max(gaps))
    metrics["fastLogFramesOver100Ms"] = sum(1 for gap in gaps if gap > 100)

    # A stored log of 1 MiB: from navigation to every line shown.
    big = create_api_event(driver, "big", "PYTHON", "for i in range(16384):\n    print(f'{i:06d} ' + 'y' * 56)\n")
    run = run_to_end(driver, big)
    driver.get(BASE + f"/executions/{run}")
    wait(driver, lambda d: d.execute_script("return performance.getEntriesByName('cronium:log-shown').length") > 0, timeout=30)
    assert driver.execute_script("return document.querySelectorAll('#log .line').length") == 16384
    metrics["bigLogBytes"] = json.loads(api(driver, "GET", f"/api/v1/executions/{run}")["body"])["logBytes"]
    metrics["bigLogShownMs"] = round(driver.execute_script("return performance.getEntriesByName('cronium:log-shown')[0].startTime"))
    sign_out(driver)
    return metrics


def create_api_event(driver, name, event_type, script, **fields):
    body = {"name": name, "type": event_type, "content": script, "logCapBytes": 16 << 20, **fields}
    created = api(driver, "POST", "/api/v1/events", body)
    assert created["status"] == 201, created
    return json.loads(created["body"])["id"]


FLOWS = [
    flow_sign_in_and_out,
    flow_event_runs_with_a_live_log,
    flow_the_editor_shows_the_servers_problems_on_their_fields,
    flow_the_schedule_builder_shows_fires_and_clock_changes,
    flow_what_users_typed_is_shown_never_run,
    flow_events_are_paused_deleted_and_runs_cancelled,
    flow_a_viewer_sees_no_edit_controls,
    flow_a_write_without_the_csrf_token_is_refused,
    flow_a_two_node_workflow_is_built_on_the_canvas_and_runs,
    flow_a_server_is_added_after_its_key_is_confirmed,
    flow_variables_users_and_secrets,
    flow_a_tool_is_added_tested_and_previewed,
    flow_an_http_request_and_a_message_are_made_in_the_editor,
    flow_the_ledger_shows_each_occurrence,
    flow_every_page_fits_a_phone,
    flow_measure,
]


def main():
    wanted = set(sys.argv[3:])
    driver = browser()
    try:
        for flow in FLOWS:
            name = flow.__name__[len("flow_"):]
            if wanted and name not in wanted:
                continue
            result = {"flow": name}
            try:
                metrics = flow(driver)
                errors = console_errors(driver)
                result["ok"] = not errors
                if errors:
                    result["error"] = "errors in the browser's console: " + "; ".join(errors)
                if metrics:
                    result["metrics"] = metrics
            except Exception as error:  # noqa: BLE001 - every failure is reported, then the next flow runs
                result["ok"] = False
                result["error"] = f"{type(error).__name__}: {error} at {driver.current_url}\n{traceback.format_exc(limit=3)}"
                driver.delete_all_cookies()
            print(json.dumps(result), flush=True)
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
