"""Headless Chromium driven by Selenium, as a person would use the web client."""

import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


class Person:
    """One browser window with the chat open."""

    def __init__(
        self,
        url: str,
        language: str = "en-US",
        width: int = 1100,
        height: int = 750,
        phone: bool = False,
        init_script: str | None = None,
    ):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='parley-chromium-')}")
        options.add_argument(f"--lang={language}")
        options.add_argument(f"--window-size={width},{height}")
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        if phone:
            options.add_experimental_option(
                "mobileEmulation", {"deviceMetrics": {"width": width, "height": height, "pixelRatio": 3.0, "touch": True}}
            )
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        if init_script is not None:
            self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": init_script})
        self.url = url
        self.driver.get(url)

    def wait(self, condition, timeout: float = 15, message: str = ""):
        def check(_):
            try:
                return condition()
            except StaleElementReferenceException:
                return False

        return WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(check, message)

    def text_fields(self):
        return self.driver.find_elements(By.CSS_SELECTOR, "input[type=text], textarea")

    def sign_in(self, name: str):
        self.wait(lambda: len(self.text_fields()) > 0)
        self.text_fields()[0].send_keys(name, Keys.ENTER)
        self.wait(lambda: self.status() == "online", message="never connected")

    def status(self) -> str | None:
        badges = self.driver.find_elements(By.CSS_SELECTOR, "[data-status]")
        return badges[0].get_attribute("data-status") if badges else None

    def say(self, text: str):
        box = self.text_fields()[-1]
        box.send_keys(text, Keys.ENTER)

    def messages(self) -> list[tuple[int, str, str]]:
        """(offset, sender, text) of every stored message shown in the current room."""
        rows = self.driver.execute_script(
            """return Array.from(document.querySelectorAll('li.message[data-offset]')).map(li => [
                Number(li.dataset.offset), li.querySelector('.message__from').textContent,
                li.querySelector('.message__text').textContent])"""
        )
        return [tuple(row) for row in rows]

    def texts(self) -> list[str]:
        return [text for _, _, text in self.messages()]

    def wait_for_text(self, text: str, timeout: float = 15):
        self.wait(lambda: text in self.texts(), timeout, f"{text!r} never appeared; saw {self.texts()}")

    def pending(self) -> list[str]:
        return [element.text for element in self.driver.find_elements(By.CSS_SELECTOR, "[data-pending-id]")]

    def open_room(self, room: str):
        field = self.driver.find_element(By.ID, "join-room")
        field.send_keys(room, Keys.ENTER)
        self.wait(lambda: self.driver.find_element(By.CSS_SELECTOR, ".room__header h2").text == f"#{room}")

    def switch_to(self, room: str):
        for button in self.driver.find_elements(By.CSS_SELECTOR, ".rooms__open"):
            if button.find_element(By.CSS_SELECTOR, ".rooms__name").text == f"#{room}":
                button.click()
                return
        raise AssertionError(f"no room {room}")

    def unread(self, room: str) -> int:
        for button in self.driver.find_elements(By.CSS_SELECTOR, ".rooms__open"):
            if button.find_element(By.CSS_SELECTOR, ".rooms__name").text == f"#{room}":
                badges = button.find_elements(By.CSS_SELECTOR, "[data-unread]")
                return int(badges[0].get_attribute("data-unread")) if badges else 0
        raise AssertionError(f"no room {room}")

    def screenshot(self, path):
        self.driver.save_screenshot(str(path))

    def quit(self):
        if self.driver is not None:
            self.driver.quit()
            self.driver = None


def settle(seconds: float = 0.3):
    time.sleep(seconds)
