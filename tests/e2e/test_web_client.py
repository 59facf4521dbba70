"""The web client in real headless Chromium against the real binary."""

import asyncio
import json
import os
import shutil

import websockets
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import settle
from conftest import ARTIFACTS, ROOT, free_port


def assert_each_offset_once(messages):
    offsets = [offset for offset, _, _ in messages]
    assert offsets == sorted(set(offsets)), f"duplicated or out of order: {offsets}"
    assert offsets == list(range(offsets[0], offsets[0] + len(offsets))), f"gap: {offsets}"


def ana_and_bruno_in(parley, open_browser, room: str):
    """Ana and Bruno signed in, both in `lobby` and `room`; Ana looks at `lobby`, Bruno at `room`."""
    ana = open_browser(parley.http_url)
    bruno = open_browser(parley.http_url)
    ana.sign_in("Ana")
    bruno.sign_in("Bruno")
    ana.open_room(room)
    bruno.open_room(room)
    ana.switch_to("lobby")
    return ana, bruno


def test_two_people_chat_both_ways_and_see_each_others_names(parley, open_browser):
    ana = open_browser(parley.http_url)
    bruno = open_browser(parley.http_url)
    ana.sign_in("Ana")
    bruno.sign_in("Bruno")
    ana.wait(lambda: "Bruno" in ana.driver.find_element(By.CSS_SELECTOR, ".members").text)
    ana.say("Hi Bruno, how are you?")
    bruno.wait_for_text("Hi Bruno, how are you?")
    bruno.say("Fine, thanks!")
    ana.wait_for_text("Fine, thanks!")
    assert ana.messages() == bruno.messages()
    assert [sender for _, sender, _ in ana.messages()] == ["Ana", "Bruno"]
    own = ana.driver.find_elements(By.CSS_SELECTOR, "li.message--own[data-offset]")
    assert [element.find_element(By.CSS_SELECTOR, ".message__text").text for element in own] == ["Hi Bruno, how are you?"]
    ana.wait(lambda: "delivered" in own[0].text)


def test_the_readme_screenshot(parley, open_browser):
    """Makes the screenshot in docs/ (written there when PARLEY_UPDATE_SCREENSHOT is set)."""
    ana, bruno = ana_and_bruno_in(parley, open_browser, "design")
    bruno.switch_to("lobby")
    bruno.say("Bom dia! Is the release still on for today?")
    ana.wait_for_text("Bom dia! Is the release still on for today?")
    ana.text_fields()[-1].send_keys("Yes, after the last review.", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "Notes are in #design.", Keys.ENTER)
    bruno.wait_for_text("Yes, after the last review.\nNotes are in #design.")
    bruno.switch_to("design")
    bruno.say("Mockups uploaded")
    ana.wait(lambda: ana.unread("design") == 1)
    bruno.switch_to("lobby")
    bruno.text_fields()[-1].send_keys("Great")
    ana.wait(lambda: "Bruno is typing" in ana.driver.find_element(By.CSS_SELECTOR, ".typing").text)
    ARTIFACTS.mkdir(exist_ok=True)
    ana.screenshot(ARTIFACTS / "screenshot.png")
    if os.environ.get("PARLEY_UPDATE_SCREENSHOT"):
        shutil.copy(ARTIFACTS / "screenshot.png", ROOT / "docs" / "screenshot.png")


def test_enter_sends_and_shift_enter_makes_a_new_line(parley, open_browser):
    ana = open_browser(parley.http_url)
    ana.sign_in("Ana")
    box = ana.text_fields()[-1]
    box.send_keys("first line", Keys.SHIFT, Keys.ENTER, Keys.SHIFT, "second line", Keys.ENTER)
    ana.wait_for_text("first line\nsecond line")
    assert box.get_attribute("value") == ""


def test_a_reload_keeps_the_name_the_room_and_the_history(parley, open_browser):
    ana = open_browser(parley.http_url)
    ana.sign_in("Ana")
    ana.open_room("book-club")
    ana.say("chapter one was slow")
    ana.say("chapter two was great")
    ana.wait_for_text("chapter two was great")
    before = ana.messages()
    ana.driver.refresh()
    ana.wait(lambda: ana.status() == "online")
    assert ana.driver.find_elements(By.ID, "display-name") == []
    assert ana.driver.find_element(By.CSS_SELECTOR, ".room__header h2").text == "#book-club"
    ana.wait(lambda: ana.messages() == before)
    assert "You are Ana" in ana.driver.find_element(By.CSS_SELECTOR, ".app__user").text


def test_a_server_restart_mid_conversation_loses_and_repeats_nothing(start_parley, open_browser, tmp_path):
    port = free_port()
    db = tmp_path / "restart.sqlite"
    server = start_parley(db=db, port=port)
    ana = open_browser(server.http_url)
    bruno = open_browser(server.http_url)
    ana.sign_in("Ana")
    bruno.sign_in("Bruno")
    for index in range(3):
        ana.say(f"before {index}")
    bruno.wait_for_text("before 2")
    assert server.stop() == 0
    ana.wait(lambda: ana.status() == "reconnecting")
    server = start_parley(db=db, port=port)
    ana.wait(lambda: ana.status() == "online", timeout=30)
    bruno.wait(lambda: bruno.status() == "online", timeout=30)
    for index in range(3):
        bruno.say(f"after {index}")
    ana.wait_for_text("after 2")
    settle()
    for person in (ana, bruno):
        assert person.texts() == [f"before {i}" for i in range(3)] + [f"after {i}" for i in range(3)]
        assert_each_offset_once(person.messages())


def test_a_message_typed_while_the_server_is_down_is_delivered_once_when_it_returns(start_parley, open_browser, tmp_path):
    port = free_port()
    db = tmp_path / "offline.sqlite"
    server = start_parley(db=db, port=port)
    ana = open_browser(server.http_url)
    bruno = open_browser(server.http_url)
    ana.sign_in("Ana")
    bruno.sign_in("Bruno")
    assert server.stop() == 0
    ana.wait(lambda: ana.status() == "reconnecting")
    ana.say("written while offline")
    ana.wait(lambda: any("written while offline" in text for text in ana.pending()))
    assert "sending" in ana.pending()[0]
    server = start_parley(db=db, port=port)
    ana.wait(lambda: ana.pending() == [] and "written while offline" in ana.texts(), timeout=30)
    bruno.wait_for_text("written while offline", timeout=30)
    settle(0.5)
    assert ana.texts() == ["written while offline"]
    assert bruno.texts() == ["written while offline"]

    async def stored():
        async with websockets.connect(server.ws_url, subprotocols=["parley.v1"]) as client:
            await client.send(json.dumps({"type": "hello", "name": "auditor"}))
            await client.recv()
            await client.send(json.dumps({"type": "history", "room": "lobby"}))
            return [m["text"] for m in json.loads(await client.recv())["messages"]]

    assert asyncio.run(stored()) == ["written while offline"]


def test_portuguese_uses_the_tutorials_words(parley, open_browser):
    pessoa = open_browser(parley.http_url, language="pt-BR")
    pessoa.wait(lambda: pessoa.driver.find_element(By.TAG_NAME, "h1").text == "Chat em Tempo Real")
    assert pessoa.driver.find_element(By.TAG_NAME, "html").get_attribute("lang") == "pt-BR"
    pessoa.sign_in("Ana")
    box = pessoa.text_fields()[-1]
    assert box.get_attribute("placeholder") == "Digite sua mensagem"
    assert pessoa.driver.find_element(By.CSS_SELECTOR, ".composer button").text == "Enviar"
    assert pessoa.driver.find_element(By.CSS_SELECTOR, "[data-status]").text == "Conectado"


def test_english_follows_an_english_browser(parley, open_browser):
    person = open_browser(parley.http_url, language="en-GB")
    person.wait(lambda: person.driver.find_element(By.TAG_NAME, "h1").text == "Real-time Chat")
    person.sign_in("Ana")
    assert person.text_fields()[-1].get_attribute("placeholder") == "Type your message"
    assert person.driver.find_element(By.CSS_SELECTOR, ".composer button").text == "Send"


def test_rooms_switching_and_unread_counts(parley, open_browser):
    ana, bruno = ana_and_bruno_in(parley, open_browser, "dev")
    bruno.say("build is green")
    bruno.say("shipping now")
    ana.wait(lambda: ana.unread("dev") == 2)
    assert ana.unread("lobby") == 0
    ana.switch_to("dev")
    ana.wait_for_text("shipping now")
    assert ana.unread("dev") == 0


def test_scrolling_up_loads_older_history_page_by_page(start_parley, open_browser):
    parley = start_parley("--rate-limit", "0")

    async def seed():
        async with websockets.connect(parley.ws_url, subprotocols=["parley.v1"]) as client:
            await client.send(json.dumps({"type": "hello", "name": "archivist"}))
            await client.send(json.dumps({"type": "join", "room": "lobby"}))
            for index in range(1, 121):
                await client.send(json.dumps({"type": "send", "room": "lobby", "text": f"old {index}", "id": f"{index}"}))
            acks = 0
            while acks < 120:
                if json.loads(await asyncio.wait_for(client.recv(), 10))["type"] == "ack":
                    acks += 1

    asyncio.run(seed())
    ana = open_browser(parley.http_url)
    ana.sign_in("Ana")
    ana.wait(lambda: len(ana.messages()) == 50)
    assert ana.messages()[0][0] == 71
    # The second scroll comes the moment the first page is in the list, before the browser has told the list where
    # the page put it (a reader scrolling fast, a busy machine): it must load the next page all the same.
    ana.driver.execute_script(
        """const list = document.querySelector('.messages');
        new MutationObserver((_, observer) => {
            if (list.querySelectorAll('li.message[data-offset]').length < 100) return;
            observer.disconnect();
            list.scrollTop = 0;
        }).observe(list, {childList: true});
        list.scrollTop = 0;"""
    )
    ana.wait(lambda: len(ana.messages()) == 120)
    assert_each_offset_once(ana.messages())
    ana.wait(lambda: "Beginning of the conversation" in ana.driver.find_element(By.CSS_SELECTOR, ".messages__top").text)


def test_errors_are_shown_in_words_next_to_the_message(start_parley, open_browser):
    server = start_parley("--max-text-bytes", "20")
    ana = open_browser(server.http_url)
    ana.sign_in("Ana")
    ana.say("this message is far longer than twenty bytes")
    ana.wait(lambda: any("The message is too long." in text for text in ana.pending()))
    ana.driver.find_element(By.XPATH, "//button[text()='Discard']").click()
    ana.wait(lambda: ana.pending() == [])


def test_message_text_is_text_never_markup(parley, open_browser):
    ana = open_browser(parley.http_url)
    ana.sign_in("Ana")
    payload = '<img src=x onerror="document.title=\'pwned\'"><b>bold?</b>'
    ana.say(payload)
    ana.wait_for_text(payload)
    assert ana.driver.title == "Parley"
    assert ana.driver.find_elements(By.CSS_SELECTOR, ".message__text img, .message__text b") == []


def test_a_phone_width_screen_has_no_sideways_scrolling(parley, open_browser):
    phone = open_browser(parley.http_url, width=390, height=844, phone=True)
    phone.sign_in("Ana")
    phone.say("a message on a small screen, long enough to wrap across several lines of a narrow phone")
    phone.wait_for_text("a message on a small screen, long enough to wrap across several lines of a narrow phone")
    assert phone.driver.execute_script("return window.innerWidth") == 390
    overflow = phone.driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    for element in [phone.text_fields()[-1], phone.driver.find_element(By.CSS_SELECTOR, ".composer button")]:
        assert element.rect["x"] >= 0 and element.rect["x"] + element.rect["width"] <= 390


def test_every_form_field_has_a_label_and_the_chat_works_from_the_keyboard(parley, open_browser):
    ana = open_browser(parley.http_url)
    ana.wait(lambda: len(ana.text_fields()) > 0)
    active = ana.driver.switch_to.active_element
    assert active.get_attribute("id") == "display-name"
    active.send_keys("Ana", Keys.ENTER)
    ana.wait(lambda: ana.status() == "online")
    unlabelled = ana.driver.execute_script(
        """return Array.from(document.querySelectorAll('input, textarea'))
            .filter(field => !(field.id && document.querySelector(`label[for="${field.id}"]`)))
            .map(field => field.outerHTML)"""
    )
    assert unlabelled == []
    join = ana.driver.find_element(By.ID, "join-room")
    join.send_keys("kbd", Keys.ENTER)
    ana.wait(lambda: ana.driver.find_element(By.CSS_SELECTOR, ".room__header h2").text == "#kbd")
    join.send_keys(Keys.TAB)
    ana.driver.switch_to.active_element.send_keys(Keys.TAB)
    focused = ana.driver.switch_to.active_element
    focused.send_keys(Keys.TAB)
    ana.driver.switch_to.active_element.send_keys("typed without the mouse", Keys.ENTER)
    ana.wait_for_text("typed without the mouse")


def test_a_message_sent_right_after_opening_a_new_room_is_delivered(parley, open_browser):
    ana = open_browser(parley.http_url)
    ana.sign_in("Ana")
    ana.driver.find_element(By.ID, "join-room").send_keys("brand-new", Keys.ENTER)
    ana.text_fields()[-1].send_keys("first words here", Keys.ENTER)
    ana.wait(lambda: ana.texts() == ["first words here"] and ana.pending() == [])
