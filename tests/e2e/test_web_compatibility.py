"""The web client where WebSockets cannot get through (shared/contracts/http-and-sse.md, "Web client fallback"):
real Chromium behind deploy/nginx/parley-no-upgrade.conf — a proxy that passes no `Upgrade` — in front of two nodes
on PostgreSQL. The page must notice by itself, chat over the HTTP API and the event stream, say so discreetly, and
keep every promise it keeps over a WebSocket: nothing lost, nothing twice, across a node killed mid-conversation."""

import asyncio
import signal

from selenium.webdriver.common.by import By

from browser import settle
from identity import FAST_PASSWORDS
from metrics import metrics
from test_cluster import Member, nginx, start_node  # noqa: F401 - fixtures
from test_web_client import assert_each_offset_once
from test_web_sign_in import choose, fill_account_form

# Behind a proxy every browser comes from the proxy's address: the per-address limits are the proxy's.
BEHIND_A_PROXY = ("--max-connections-per-ip", "0", "--address-rate-limit", "0", "--address-text-rate", "0")


def mode(person) -> str | None:
    badges = person.driver.find_elements(By.CSS_SELECTOR, "[data-mode]")
    return badges[0].get_attribute("data-mode") if badges else None


def test_the_page_chats_in_compatibility_mode_through_a_proxy_without_upgrade_and_survives_a_node_killed(
        start_node, nginx, open_browser):
    a, b = start_node(*BEHIND_A_PROXY), start_node(*BEHIND_A_PROXY)
    port = nginx([a.port, b.port], "parley-no-upgrade.conf")
    ana = open_browser(f"http://127.0.0.1:{port}/")
    ana.sign_in("Ana")
    assert mode(ana) == "compatibility"
    assert "compatibility mode" in ana.driver.find_element(By.CSS_SELECTOR, "[data-status]").text

    # The node holding Ana's event stream is the one to kill: her posts go to either node.
    ana.wait(lambda: sum(metrics(node).get("parley_connections_open", 0) for node in (a, b)) == 1)
    doomed, survivor = (a, b) if metrics(a).get("parley_connections_open", 0) == 1 else (b, a)

    async def scenario():
        # Bruno is on the other node, over a WebSocket.
        bruno = await Member.connect(survivor.ws_url, "Bruno", room="lobby")
        ana.wait(lambda: "Bruno" in ana.driver.find_element(By.CSS_SELECTOR, ".members").text)
        ana.say("one")
        assert (await bruno.next("message"))["text"] == "one"
        await bruno.send("lobby", "two", "b-2")
        ana.wait_for_text("two")
        doomed.process.send_signal(signal.SIGKILL)
        doomed.process.wait(10)
        # Mid-conversation: Ana keeps writing while her stream and posts fail over to node b.
        for index in range(3):
            ana.say(f"after {index}")
        await bruno.send("lobby", "three", "b-3")
        from_ana = []
        while len(from_ana) < 3:
            message = await bruno.next("message", timeout=30)
            if message["fromId"] == "guest:Ana":
                from_ana.append(message["text"])
        assert from_ana == ["after 0", "after 1", "after 2"]
        ana.wait(lambda: ana.pending() == [] and "three" in ana.texts(), timeout=30)
        await bruno.send("lobby", "four", "b-4")
        ana.wait_for_text("four", timeout=30)
        settle(1)
        texts = ana.texts()
        assert sorted(texts) == sorted(["one", "two", "after 0", "after 1", "after 2", "three", "four"]), texts
        assert texts.index("one") < texts.index("two") < texts.index("four")
        assert [text for text in texts if text.startswith("after")] == ["after 0", "after 1", "after 2"]
        assert_each_offset_once(ana.messages())
        assert mode(ana) == "compatibility" and ana.status() == "online"
        # Her stream now lives on the surviving node, beside Bruno's WebSocket.
        assert metrics(survivor)["parley_connections_open"] == 2
        await bruno.close()

    asyncio.run(scenario())


def test_an_account_chats_in_compatibility_mode_and_a_page_reload_resumes_it(start_node, nginx, open_browser):
    a, b = start_node(*FAST_PASSWORDS, *BEHIND_A_PROXY), start_node(*FAST_PASSWORDS, *BEHIND_A_PROXY)
    port = nginx([a.port, b.port], "parley-no-upgrade.conf")
    ana = open_browser(f"http://127.0.0.1:{port}/")
    choose(ana, "Create an account")
    fill_account_form(ana, "ana", "correct horse battery")
    ana.wait(lambda: ana.status() == "online", message="never connected")
    assert mode(ana) == "compatibility"
    ana.say("from an account, over HTTP")
    ana.wait(lambda: ana.pending() == [] and "from an account, over HTTP" in ana.texts())
    assert ana.messages()[0][1] == "ana"
    ana.driver.refresh()
    ana.wait(lambda: ana.status() == "online" and "from an account, over HTTP" in ana.texts(), timeout=30)
    ana.say("after the reload")
    ana.wait(lambda: ana.pending() == [] and "after the reload" in ana.texts())
    assert ana.texts() == ["from an account, over HTTP", "after the reload"]
    assert_each_offset_once(ana.messages())
