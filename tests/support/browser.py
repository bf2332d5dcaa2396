"""Helpers of the browser tier: waiting for what the console shows, reading its tables, and its forms."""

import time

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

LIVE = 2.0  # seconds within which a change must show without a reload (issue 18)


def wait_for(driver, condition, timeout: float = 10.0, what: str = "the page"):
    """condition(driver)'s first truthy value, retried while the page re-renders."""

    def attempt(d):
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(attempt, f"waiting for {what}")


def text_of(driver, css: str) -> str:
    return "\n".join(element.text for element in driver.find_elements(By.CSS_SELECTOR, css))


def wait_text(driver, css: str, text: str, timeout: float = 10.0) -> float:
    """Waits until an element matching css shows `text`; returns how long that took."""
    started = time.monotonic()
    wait_for(driver, lambda d: text in text_of(d, css), timeout, f"{text!r} in {css}")
    return time.monotonic() - started


def row_texts(driver, table: str = "table.list") -> list[list[str]]:
    """The cells' texts of each body row of the first matching table."""
    rows = driver.find_elements(By.CSS_SELECTOR, f"{table} tbody tr")
    return [[cell.text for cell in row.find_elements(By.CSS_SELECTOR, "th, td")] for row in rows]


def row_keys(driver, table: str = "table.list") -> list[str]:
    """The data-key of each body row (the image name, the version number, ...), read in one script call."""
    script = "return [...document.querySelectorAll(arguments[0])].map((row) => row.dataset.key)"
    return driver.execute_script(script, f"{table} tbody tr")


def row_of(driver, key: str, table: str = "table.list"):
    """The body row whose data-key is `key`."""
    return driver.find_element(By.CSS_SELECTOR, f'{table} tbody tr[data-key="{key}"]')


def fill(form, **values) -> None:
    """Types into (or chooses in) the named fields of a form element."""
    for name, value in values.items():
        element = form.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def form_titled(driver, title: str):
    """The form whose heading reads `title` (waiting for the page to show it)."""

    def find(d):
        for form in d.find_elements(By.CSS_SELECTOR, "form"):
            headings = form.find_elements(By.CSS_SELECTOR, "h3, h4")
            if headings and headings[0].text == title:
                return form
        return None

    return wait_for(driver, find, what=f"a form titled {title!r}")


def button(scope, text: str):
    """The button of `scope` (the driver or an element) that reads `text` (waiting for it to show)."""

    def find(_):
        return next(
            (element for element in scope.find_elements(By.CSS_SELECTOR, "button") if element.text == text), None
        )

    driver = scope if hasattr(scope, "get") else scope.parent
    return wait_for(driver, find, what=f"a button {text!r}")


def confirm(driver, accept: bool = True) -> None:
    """Answers the console's confirmation dialog."""
    wait_for(driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None, 5, "the dialog")
    driver.find_element(By.ID, "confirm-ok" if accept else "confirm-cancel").click()


def message(driver) -> str:
    """The text of the page's latest outcome message (an AWS error, or a note of success)."""
    return text_of(driver, ".messages")
