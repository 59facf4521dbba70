"""The web client's sign-in (shared/contracts/identity.md, "Web client") in headless Chromium: create an account,
sign in, chat, reload and stay signed in, sign out, and a session that expires — with the session only ever in an
HttpOnly cookie."""

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from identity import FAST_PASSWORDS, login, register


def choose(person, label: str):
    person.wait(lambda: any(b.text == label for b in person.driver.find_elements(By.CSS_SELECTOR, ".auth__mode")))
    for button in person.driver.find_elements(By.CSS_SELECTOR, ".auth__mode"):
        if button.text == label:
            button.click()
            return
    raise AssertionError(f"no {label!r} among {[b.text for b in person.driver.find_elements(By.CSS_SELECTOR, '.auth__mode')]}")


def fill_account_form(person, user: str, password: str, name: str | None = None):
    person.wait(lambda: person.driver.find_elements(By.ID, "account-user"))
    person.driver.find_element(By.ID, "account-user").send_keys(user)
    if name is not None:
        person.driver.find_element(By.ID, "account-name").send_keys(name)
    person.driver.find_element(By.ID, "account-password").send_keys(password)
    person.driver.find_element(By.CSS_SELECTOR, ".account-form button[type=submit]").click()


def header(person) -> str:
    return person.driver.find_element(By.CSS_SELECTOR, ".app__user").text


def members(person) -> list[str]:
    return [item.text for item in person.driver.find_elements(By.CSS_SELECTOR, ".members__item")]


def test_create_an_account_chat_reload_and_sign_out(start_parley, open_browser):
    node = start_parley(*FAST_PASSWORDS)
    ana = open_browser(node.http_url)
    choose(ana, "Create an account")
    fill_account_form(ana, "ana", "correct horse battery", name="Ana Lúcia")
    ana.wait(lambda: ana.status() == "online", message="never connected after creating the account")
    assert header(ana) == "You are Ana Lúcia"
    # The session is in an HttpOnly cookie: no script on the page can read it, and nothing is kept in storage.
    assert "parley_session" not in ana.driver.execute_script("return document.cookie")
    storage = ana.driver.execute_script("return JSON.stringify(window.localStorage)")
    assert "pst_" not in storage

    guest = open_browser(node.http_url)
    guest.wait(lambda: len(guest.text_fields()) > 0)
    guest.text_fields()[0].send_keys("ANA LÚCIA", Keys.ENTER)  # a guest may not take an account's name …
    guest.wait(lambda: "belongs to an account" in guest.driver.page_source, message="no name_taken notice")
    guest.sign_in("Bruno")  # … but any other name is fine
    ana.wait(lambda: "Bruno (guest)" in members(ana), message=f"members: {members(ana)}")
    assert "Ana Lúcia (you)" in members(ana)
    ana.say("olá, sou eu mesma")
    guest.wait_for_text("olá, sou eu mesma")
    assert [sender for _, sender, _ in guest.messages()] == ["Ana Lúcia"]

    ana.driver.refresh()
    ana.wait(lambda: ana.status() == "online", message="a reload should keep the session")
    assert header(ana) == "You are Ana Lúcia"
    ana.wait_for_text("olá, sou eu mesma")

    ana.driver.find_element(By.CSS_SELECTOR, ".app__leave").click()
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, ".auth__mode"))
    ana.driver.refresh()
    ana.wait(lambda: ana.driver.find_elements(By.CSS_SELECTOR, ".auth__mode"), message="signed out should stay signed out")

    choose(ana, "Sign in")
    fill_account_form(ana, "ana", "wrong password")
    ana.wait(lambda: "Wrong user name or password" in ana.driver.page_source)
    ana.driver.find_element(By.ID, "account-password").clear()
    fill_account_form(ana, "", "correct horse battery")
    ana.wait(lambda: ana.status() == "online", message="never connected after signing in")
    assert header(ana) == "You are Ana Lúcia"


def test_an_expired_session_says_so_and_offers_to_sign_in_again(start_parley, open_browser):
    node = start_parley("--session-days", "0.00005", *FAST_PASSWORDS)  # 4.3 s
    register(node, "ana", name="Ana")
    person = open_browser(node.http_url, language="pt-BR")
    choose(person, "Entrar na conta")
    fill_account_form(person, "ana", "correct horse battery")
    person.wait(lambda: person.status() == "online")
    person.wait(lambda: "Sua sessão expirou" in person.driver.page_source, timeout=20, message="no expiry notice")
    choose(person, "Entrar na conta")
    fill_account_form(person, "ana", "correct horse battery")
    person.wait(lambda: person.status() == "online")


def test_with_guests_off_the_page_offers_only_accounts(start_parley, open_browser):
    node = start_parley("--guests", "off", "--registration", "closed", *FAST_PASSWORDS)
    register_closed = register(node, "ana")
    assert register_closed.code == "registration_closed"
    person = open_browser(node.http_url)
    person.wait(lambda: person.driver.find_elements(By.CSS_SELECTOR, ".auth__mode"))
    assert [button.text for button in person.driver.find_elements(By.CSS_SELECTOR, ".auth__mode")] == ["Sign in"]
    assert "admits only signed-in users" in person.driver.page_source
    assert login(node, "nobody", "whatever you like").status == 401
