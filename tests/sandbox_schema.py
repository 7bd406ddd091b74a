"""The realistic schema the sandbox tests clone: users, addresses, orders and payments, with foreign keys,
unique emails, CHECKs, and personal data written in formats the masking fakes never produce (so any
original value found in a clone is a real leak, not a coincidence)."""

from __future__ import annotations

import random
import uuid
from typing import Any

SCHEMA = """
CREATE TABLE users (
    id serial PRIMARY KEY,
    email text NOT NULL UNIQUE,
    full_name text NOT NULL,
    phone varchar(32),
    notes text,
    birth_date date,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE addresses (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users(id),
    line1 text NOT NULL,
    city text NOT NULL,
    postcode varchar(10)
);
CREATE TABLE orders (
    id bigserial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users(id),
    contact_email text REFERENCES users(email),
    status text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped')),
    total numeric(10, 2) NOT NULL CHECK (total >= 0),
    placed_at timestamptz NOT NULL
);
CREATE TABLE payments (
    id serial PRIMARY KEY,
    order_id bigint NOT NULL REFERENCES orders(id),
    card_number varchar(19) NOT NULL,
    card_holder text,
    amount numeric(10, 2) NOT NULL CHECK (amount > 0),
    token uuid UNIQUE
);
CREATE INDEX orders_user ON orders (user_id);
"""

RULES = """
keep:
  users: [id, created_at]
  addresses: [id, user_id]
  orders: [id, user_id, total, placed_at]
  payments: [id, order_id, amount]
tables:
  users:
    email: fake.email
    full_name: fake.name
    phone: fake.phone
    notes: "null"
    birth_date: {rule: shift, days: 30}
  addresses:
    line1: fake.address
    city: keep
    postcode: {rule: partial, keepFirst: 2, keepLast: 0}
  orders:
    contact_email: fake.email
    status: keep
  payments:
    card_number: {rule: partial, keepLast: 4}
    card_holder: fake.name
    token: hash
"""

# (table, column) pairs masked by RULES, with text values that must never reach the sandbox.
MASKED_TEXT = [
    ("users", "email"),
    ("users", "full_name"),
    ("users", "phone"),
    ("users", "notes"),
    ("addresses", "line1"),
    ("addresses", "postcode"),
    ("orders", "contact_email"),
    ("payments", "card_number"),
    ("payments", "card_holder"),
]

_FIRST = [
    "Hannelore",
    "Jürgen",
    "Dagmar",
    "Wolfgang",
    "Ingrid",
    "Reinhold",
    "Gudrun",
    "Siegfried",
    "Ottilie",
    "Eberhard",
]
_LAST = ["Oberhuber", "Kleinschmidt", "Wendeborn", "Strassner", "Achterberg", "Pfefferkorn", "Rautenstrauch"]
_STREETS = ["Lindenallee", "Kastanienweg", "Mühlgraben", "Am Wasserturm", "Hinter der Kirche"]
_CITIES = ["Bad Kreuznach", "Zwiesel", "Husum", "Lindau", "Quedlinburg"]


def populate(conn: Any, users: int = 600, seed: int = 7) -> None:
    """Create the schema and fill it with deterministic rows."""
    rnd = random.Random(seed)
    conn.execute(SCHEMA)
    with conn.cursor() as cur:
        with cur.copy("COPY users (email, full_name, phone, notes, birth_date, created_at) FROM STDIN") as copy:
            for i in range(users):
                first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
                copy.write_row(
                    (
                        f"{first.lower()}_{last.lower()}_{i}@mail.corp.test",
                        f"{last}, {first} ({i})",
                        f"(0{rnd.randint(100, 999)}) {i:07d}" if i % 5 else None,
                        f"VIP customer {first} {last}, call back at {i:07d}" if i % 3 == 0 else None,
                        f"19{rnd.randint(40, 99)}-0{rnd.randint(1, 9)}-{rnd.randint(10, 28)}",
                        f"2024-0{rnd.randint(1, 9)}-{rnd.randint(10, 28)} 10:00:00+00",
                    )
                )
        with cur.copy("COPY addresses (user_id, line1, city, postcode) FROM STDIN") as copy:
            for i in range(1, users + 1):
                copy.write_row((i, f"{rnd.choice(_STREETS)} {i}a", rnd.choice(_CITIES), f"{rnd.randint(10000, 99999)}"))
        with cur.copy("COPY orders (user_id, contact_email, status, total, placed_at) FROM STDIN") as copy:
            for _ in range(users * 3):
                status = rnd.choice(["pending", "paid", "shipped"])
                total = rnd.randint(0, 99999) / 100
                copy.write_row((rnd.randint(1, users), None, status, total, "2024-05-01 12:00:00+00"))
        # Half the orders carry the customer's email, a foreign key to users.email: masked the same way.
        conn.execute("UPDATE orders o SET contact_email = u.email FROM users u WHERE u.id = o.user_id AND o.id % 2 = 0")
        with cur.copy("COPY payments (order_id, card_number, card_holder, amount, token) FROM STDIN") as copy:
            for i in range(1, users * 2 + 1):
                copy.write_row(
                    (
                        i,
                        f"4{rnd.randint(10**14, 10**15 - 1)}",
                        f"{rnd.choice(_LAST).upper()} {rnd.choice(_FIRST).upper()} {i}",
                        rnd.randint(1, 99999) / 100,
                        str(uuid.UUID(int=rnd.getrandbits(128))),
                    )
                )
    conn.commit()
