"""Private rooms, direct messages and moderation in the web client (shared/contracts/rooms-and-moderation.md, "Web
client"), in headless Chromium: two signed-in people, by mouse and by keyboard, in English and in Portuguese on a
phone."""

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from identity import FAST_PASSWORDS
from rooms import PASSWORD, account
from test_web_sign_in import choose, fill_account_form


def signed_in(node, open_browser, user: str, **options):
    person = open_browser(node.http_url, **options)
    choose(person, "Entrar na conta" if options.get("language", "en-US").startswith("pt") else "Sign in")
    fill_account_form(person, user, PASSWORD)
    person.wait(lambda: person.status() == "online", message=f"{user} never connected")
    return person


def title(person) -> str:
    return person.driver.find_element(By.CSS_SELECTOR, ".room__header h2").text


def room_names(person) -> list[str]:
    return [element.text for element in person.driver.find_elements(By.CSS_SELECTOR, ".rooms__item .rooms__name")]


def notice(person) -> str:
    notices = person.driver.find_elements(By.CSS_SELECTOR, ".notice")
    return notices[0].text if notices else ""


def member_action(person, member: str, action: str):
    """Opens `member`'s menu in the member list and picks `action` (its data-action)."""
    person.wait(lambda: person.driver.find_elements(By.CSS_SELECTOR, f"[data-user-id='{member}'] .member-menu__toggle"))
    person.driver.find_element(By.CSS_SELECTOR, f"[data-user-id='{member}'] .member-menu__toggle").click()
    person.driver.find_element(By.CSS_SELECTOR, f"[data-user-id='{member}'] [data-action='{action}']").click()


def create_room(person, room: str, visibility_label: str):
    Select(person.driver.find_element(By.ID, "create-room-visibility")).select_by_visible_text(visibility_label)
    person.driver.find_element(By.ID, "create-room").send_keys(room, Keys.ENTER)
    person.wait(lambda: title(person) == f"#{room}", message=f"#{room} did not open after creating it")


def test_a_private_room_invitation_deletion_direct_message_and_kick(start_parley, open_browser):
    node = start_parley(*FAST_PASSWORDS)
    account(node, "ana", "Ana")
    account(node, "bea", "Bea")
    ana, bea = signed_in(node, open_browser, "ana"), signed_in(node, open_browser, "bea")

    create_room(ana, "plans", "Private")
    assert ana.driver.find_elements(By.CSS_SELECTOR, ".room__title .lock[aria-label='private room']")
    ana.say("only for us")
    ana.wait_for_text("only for us")

    # Bea cannot get in by name …
    bea.driver.find_element(By.ID, "join-room").send_keys("plans", Keys.ENTER)
    bea.wait(lambda: "You may not enter #plans." in notice(bea), message=f"notice: {notice(bea)!r}")
    assert "#plans" not in room_names(bea)
    # … until Ana invites her; then the room is offered to her, with its lock.
    ana.driver.find_element(By.ID, "invite-user").send_keys("bea", Keys.ENTER)
    bea.wait(lambda: "ana invited you to #plans." in notice(bea), message=f"notice: {notice(bea)!r}")
    bea.wait(lambda: bea.driver.find_elements(By.CSS_SELECTOR, ".rooms__other[data-room='plans'] .lock"))
    bea.driver.find_element(By.CSS_SELECTOR, ".rooms__other[data-room='plans']").click()
    bea.wait(lambda: title(bea) == "#plans")
    bea.wait_for_text("only for us")
    bea.say("a message Ana will delete")
    ana.wait_for_text("a message Ana will delete")

    # The owner deletes Bea's message; both see the placeholder, and Bea may not delete Ana's.
    target = next(offset for offset, _, text in ana.messages() if text == "a message Ana will delete")
    item = ana.driver.find_element(By.CSS_SELECTOR, f"li.message[data-offset='{target}']")
    item.find_element(By.CSS_SELECTOR, ".message__delete").click()
    item.find_element(By.CSS_SELECTOR, ".message__delete-confirm").click()
    for person in (ana, bea):
        person.wait(lambda: "a message Ana will delete" not in person.texts() and "message deleted" in person.texts())
    own_offset = next(offset for offset, _, text in bea.messages() if text == "only for us")
    assert not bea.driver.find_elements(By.CSS_SELECTOR, f"li.message[data-offset='{own_offset}'] .message__delete")

    # A direct message from a member's name: both reach the same room, titled by the other person.
    member_action(ana, "bea", "dm")
    ana.wait(lambda: title(ana) == "@Bea")
    ana.say("just the two of us")
    bea.wait(lambda: "ana opened a direct message with you." in notice(bea), message=f"notice: {notice(bea)!r}")
    bea.wait(lambda: [e.text for e in bea.driver.find_elements(By.CSS_SELECTOR, ".rooms__other .rooms__name")].count("@Ana") == 1)
    member_action(bea, "ana", "dm")
    bea.wait(lambda: title(bea) == "@Ana")
    bea.wait_for_text("just the two of us")

    # The owner removes Bea from the private room: it leaves her list and she is told why.
    ana.switch_to("plans")
    ana.wait(lambda: title(ana) == "#plans")
    member_action(ana, "bea", "kick")
    bea.wait(lambda: "You were removed from #plans." in notice(bea), message=f"notice: {notice(bea)!r}")
    bea.wait(lambda: "#plans" not in room_names(bea))
    bea.driver.find_element(By.CSS_SELECTOR, ".notice button").click()
    bea.wait(lambda: notice(bea) == "")


def test_the_member_menu_works_from_the_keyboard(start_parley, open_browser):
    node = start_parley(*FAST_PASSWORDS)
    account(node, "ana", "Ana")
    account(node, "bea", "Bea")
    ana, bea = signed_in(node, open_browser, "ana"), signed_in(node, open_browser, "bea")
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, "[data-user-id='bea'] .member-menu__toggle"))
    toggle = ana.driver.find_element(By.CSS_SELECTOR, "[data-user-id='bea'] .member-menu__toggle")
    toggle.send_keys(Keys.ENTER)
    ana.wait(lambda: ana.driver.switch_to.active_element.get_attribute("data-action") == "dm", message="focus did not enter the menu")
    assert toggle.get_attribute("aria-expanded") == "true"
    ana.driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    ana.wait(lambda: not ana.driver.find_elements(By.CSS_SELECTOR, "[role=menu]"))
    assert ana.driver.switch_to.active_element == toggle
    toggle.send_keys(Keys.ENTER)
    ana.wait(lambda: ana.driver.switch_to.active_element.get_attribute("data-action") == "dm")
    ana.driver.switch_to.active_element.send_keys(Keys.ENTER)
    ana.wait(lambda: title(ana) == "@Bea")


def test_portuguese_on_a_phone_creates_a_private_room_without_sideways_scrolling(start_parley, open_browser):
    node = start_parley(*FAST_PASSWORDS)
    account(node, "ana", "Ana")
    phone = signed_in(node, open_browser, "ana", language="pt-BR", width=390, height=844, phone=True)
    assert phone.driver.find_element(By.CSS_SELECTOR, "label[for='create-room']").text == "Criar sala"
    create_room(phone, "segredo", "Privada")
    assert phone.driver.find_elements(By.CSS_SELECTOR, ".room__title .lock[aria-label='sala privada']")
    phone.say("isto some")
    phone.wait_for_text("isto some")
    phone.driver.find_element(By.CSS_SELECTOR, ".message__delete").click()
    phone.driver.find_element(By.CSS_SELECTOR, ".message__delete-confirm").click()
    phone.wait(lambda: "mensagem apagada" in phone.texts(), message=f"{phone.texts()}")
    overflow = phone.driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


def test_a_large_room_shows_its_count_and_a_searchable_paged_list_of_people(start_parley, open_browser):
    node = start_parley("--presence-list-limit", "2")
    people = [open_browser(node.http_url) for _ in range(3)]
    for person, name in zip(people, ["Ana", "Bruno", "Carla"]):
        person.sign_in(name)
    last = people[-1]
    last.wait(lambda: last.driver.find_elements(By.CSS_SELECTOR, "[data-member-count='3']"), message="no count in a large room")
    assert last.driver.find_element(By.CSS_SELECTOR, ".members--large h3").text == "3 people"
    last.driver.find_element(By.CSS_SELECTOR, ".members__toggle").click()
    names = lambda: [item.text.split(" (")[0] for item in last.driver.find_elements(By.CSS_SELECTOR, ".members__panel .members__item")]
    last.wait(lambda: sorted(names()) == ["Ana", "Bruno", "Carla"], message=f"listed: {names()}")
    last.driver.find_element(By.ID, "member-search").send_keys("bru")
    last.wait(lambda: names() == ["Bruno"])
    # The first one sees the count arrive (at most a second later) and, when someone leaves, the room is small again.
    first = people[0]
    first.wait(lambda: first.driver.find_elements(By.CSS_SELECTOR, "[data-member-count='3']"), message="the count never came")
    people[1].quit()
    people.remove(people[1])
    first.wait(lambda: not first.driver.find_elements(By.CSS_SELECTOR, ".members--large"), message="still large")
    first.wait(lambda: [i.text.split(" (")[0] for i in first.driver.find_elements(By.CSS_SELECTOR, ".members__item")] == ["Ana", "Carla"])
