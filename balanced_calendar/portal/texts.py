"""Every sentence of the portal, in Bahasa Indonesia and English.

The consent text itself is enrollment's (:func:`balanced_calendar.enrollment.consent_text`,
versioned by ``CONSENT_VERSION``); the pages around it say what is read, what is stored, for
how long and the person's rights under UU 27/2022.
"""

from __future__ import annotations

from typing import Any

from balanced_calendar.texts import LANGUAGES

WORDS: dict[str, dict[str, str]] = {
    "title": {"id": "Kalender seimbang: ikut serta", "en": "Balanced calendar: opt in"},
    "lang.other": {"id": "English", "en": "Bahasa Indonesia"},
    "intro": {
        "id": "Layanan ini membantu Anda melihat beban kerja dari kalender kerja Anda dan melindungi waktu "
              "fokus. Ikut serta bersifat sukarela.",
        "en": "This service helps you see your workload from your work calendar and protect focus time. "
              "Taking part is voluntary."},
    "read.h": {"id": "Apa yang dibaca", "en": "What is read"},
    "read": {
        "id": "Waktu mulai dan selesai setiap acara, statusnya (dikonfirmasi, tentatif, dibatalkan), jawaban "
              "Anda, tampil sebagai sibuk/bebas/cuti, jumlah peserta lain, dan apakah Anda penyelenggaranya. "
              "Hanya baca: tidak ada yang ditulis ke kalender Anda kecuali Anda mengizinkannya secara terpisah.",
        "en": "The start and end of each event, its status (confirmed, tentative, cancelled), your own "
              "answer, whether it shows as busy/free/out of office, the number of other participants and "
              "whether you organised it. Read-only: nothing is written to your calendar unless you allow it "
              "in a separate step."},
    "stored.h": {"id": "Apa yang disimpan", "en": "What is stored"},
    "stored": {
        "id": "Alamat surel dan pengaturan Anda, catatan persetujuan, token akses terenkripsi, waktu acara "
              "yang diminimalkan (tanpa judul, deskripsi, lokasi, atau alamat peserta) dan angka harian "
              "beban kerja. Judul, deskripsi, lokasi dan alamat peserta tidak pernah disimpan.",
        "en": "Your address and settings, the consent record, encrypted access tokens, minimised event "
              "times (no titles, descriptions, places or attendee addresses) and daily workload figures. "
              "Titles, descriptions, places and attendee addresses are never stored."},
    "purpose.h": {"id": "Untuk apa", "en": "For what purpose"},
    "keep.h": {"id": "Berapa lama", "en": "For how long"},
    "keep": {
        "id": "Selama Anda ikut serta. Kalender dibaca {past} minggu ke belakang dan {future} minggu ke "
              "depan. Saat Anda menarik persetujuan, semua data Anda dihapus sekaligus dan blok milik layanan "
              "di masa depan dihapus dari kalender Anda.",
        "en": "While you take part. The calendar is read {past} weeks back and {future} weeks ahead. When "
              "you withdraw, all your data is erased at once and the service's future blocks are removed "
              "from your calendar."},
    "rights.h": {"id": "Hak Anda (UU 27/2022)", "en": "Your rights (UU 27/2022)"},
    "rights": {
        "id": "Anda berhak mendapat informasi, mengakses dan memperbaiki data Anda, mengakhiri pemrosesan, "
              "menarik persetujuan kapan saja, dan meminta penghapusan. Laporan tim hanya berisi agregat; "
              "tim dengan kurang dari {k} orang tidak dilaporkan.",
        "en": "You have the right to be informed, to access and correct your data, to end the processing, "
              "to withdraw consent at any time and to have your data erased. Team reports hold aggregates "
              "only; teams under {k} people are never reported."},
    "consent.h": {"id": "Teks persetujuan (versi {version})", "en": "Consent text (version {version})"},
    "email": {"id": "Alamat surel kantor", "en": "Work email address"},
    "agree": {"id": "Saya telah membaca dan menyetujui teks persetujuan di atas.",
              "en": "I have read and agree to the consent text above."},
    "google": {"id": "Masuk dengan Google", "en": "Sign in with Google"},
    "microsoft": {"id": "Masuk dengan Microsoft", "en": "Sign in with Microsoft"},
    "signin.h": {"id": "Sudah ikut serta, atau pimpinan tim?", "en": "Already taking part, or a team leader?"},
    "signin": {"id": "Masuk", "en": "Sign in"},
    "welcome": {"id": "Anda sudah ikut serta.", "en": "You are taking part."},
    "settings.h": {"id": "Pengaturan", "en": "Settings"},
    "settings.note": {
        "id": "Perubahan berlaku pada tugas terjadwal berikutnya. Nilai yang ditetapkan konfigurasi "
              "instansi tidak dapat diubah di sini.",
        "en": "A change takes effect at the next scheduled job. Values the agency's configuration sets "
              "cannot be changed here."},
    "language": {"id": "Bahasa", "en": "Language"},
    "timezone": {"id": "Zona waktu", "en": "Time zone"},
    "digest": {"id": "Ringkasan mingguan lewat surel", "en": "Weekly digest by email"},
    "focus": {"id": "Blok fokus", "en": "Focus blocks"},
    "recovery": {"id": "Blok pemulihan", "en": "Recovery blocks"},
    "focus_window": {"id": "Jendela fokus", "en": "Focus window"},
    "focus_target": {"id": "Target fokus per hari kerja (menit)", "en": "Focus target per workday (minutes)"},
    "on": {"id": "aktif", "en": "on"},
    "off": {"id": "mati", "en": "off"},
    "locked": {"id": "ditetapkan konfigurasi", "en": "set by the configuration"},
    "save": {"id": "Simpan", "en": "Save"},
    "saved": {"id": "Pengaturan disimpan.", "en": "Settings saved."},
    "blocks.h": {"id": "Blok fokus dan pemulihan", "en": "Focus and recovery blocks"},
    "blocks.off": {
        "id": "Saat ini layanan hanya membaca kalender Anda. Jika Anda mengizinkan, layanan menambahkan blok "
              "fokus dan pemulihan miliknya sendiri (tanpa undangan atau notifikasi). Ini meminta izin tulis "
              "tambahan dari penyedia kalender Anda.",
        "en": "The service only reads your calendar now. If you allow it, it adds its own focus and recovery "
              "blocks (no invitations, no notifications). This asks your calendar provider for write access."},
    "blocks.agree": {"id": "Saya mengizinkan penulisan blok fokus dan pemulihan.",
                     "en": "I allow writing focus and recovery blocks."},
    "blocks.allow": {"id": "Izinkan blok (masuk lagi)", "en": "Allow blocks (sign in again)"},
    "blocks.on": {"id": "Blok fokus dan pemulihan diizinkan.", "en": "Focus and recovery blocks are allowed."},
    "blocks.stop": {"id": "Hentikan blok", "en": "Stop blocks"},
    "withdraw.h": {"id": "Tarik persetujuan", "en": "Withdraw consent"},
    "withdraw.note": {
        "id": "Semua data Anda dihapus sekaligus, termasuk blok milik layanan di masa depan. Tidak dapat "
              "dibatalkan.",
        "en": "All your data is erased at once, including the service's future blocks. This cannot be undone."},
    "withdraw": {"id": "Tarik persetujuan dan hapus data saya", "en": "Withdraw and erase my data"},
    "withdrawn.h": {"id": "Persetujuan ditarik", "en": "Consent withdrawn"},
    "withdrawn": {"id": "Semua data Anda telah dihapus. Terima kasih.",
                  "en": "All your data has been erased. Thank you."},
    "signout": {"id": "Keluar", "en": "Sign out"},
    "leader.h": {"id": "Laporan tim (dianonimkan)", "en": "Team reports (anonymised)"},
    "leader.none": {"id": "Belum ada minggu yang dilaporkan.", "en": "No week reported yet."},
    "unsub.h": {"id": "Berhenti berlangganan ringkasan", "en": "Unsubscribe from the digest"},
    "unsub.ask": {"id": "Hentikan ringkasan mingguan lewat surel?", "en": "Stop the weekly digest email?"},
    "unsub.button": {"id": "Berhenti berlangganan", "en": "Unsubscribe"},
    "unsub.done": {"id": "Ringkasan mingguan dihentikan. Anda dapat menyalakannya lagi di pengaturan.",
                   "en": "The weekly digest is switched off. You can switch it on again in the settings."},
    "unsub.bad": {"id": "Tautan ini tidak berlaku.", "en": "This link is not valid."},
    "error.h": {"id": "Tidak berhasil", "en": "That did not work"},
    "error.again": {"id": "Mulai lagi", "en": "Start again"},
    "err.csrf": {"id": "Formulir kedaluwarsa atau tidak berasal dari halaman ini. Muat ulang dan coba lagi.",
                 "en": "The form expired or did not come from this page. Reload and try again."},
    "err.consent": {"id": "Centang persetujuan untuk ikut serta.", "en": "Tick the consent box to opt in."},
    "err.unknown": {
        "id": "Alamat ini tidak terdaftar di instansi Anda. Hubungi pengelola layanan untuk ditambahkan.",
        "en": "This address is not registered by your agency. Ask the service's operator to add you."},
    "err.provider": {"id": "Instansi Anda mendaftarkan alamat ini untuk {provider}. Gunakan tombol itu.",
                     "en": "Your agency registered this address with {provider}. Use that button."},
    "err.unavailable": {"id": "Penyedia ini tidak dikonfigurasi.", "en": "This provider is not configured."},
    "err.state": {"id": "Jawaban masuk ini bukan untuk permintaan Anda (state tidak cocok). Mulai lagi.",
                  "en": "This sign-in answer does not belong to your request (state mismatch). Start again."},
    "err.signin": {"id": "Masuk tidak berhasil: {detail}", "en": "The sign-in did not complete: {detail}"},
    "err.rate": {"id": "Terlalu banyak percobaan. Tunggu satu menit.",
                 "en": "Too many attempts. Wait a minute."},
    "err.session": {"id": "Silakan masuk dulu.", "en": "Please sign in first."},
    "err.forbidden": {"id": "Halaman ini hanya untuk pimpinan tim yang terdaftar.",
                      "en": "This page is for registered team leaders only."},
    "err.notenrolled": {"id": "Anda belum ikut serta. Ikut serta dari halaman utama.",
                        "en": "You are not taking part yet. Opt in from the first page."},
    "err.value": {"id": "Nilai tidak sah: {detail}", "en": "Not a valid value: {detail}"},
    "err.notfound": {"id": "Halaman tidak ditemukan.", "en": "Page not found."},
}


def say(key: str, lang: str, **values: Any) -> str:
    """The text ``key`` in ``lang`` (``en`` for an unknown language), formatted with ``values``."""
    table = WORDS[key]
    text = table.get(lang if lang in LANGUAGES else "en", table["en"])
    return text.format(**values) if values else text
