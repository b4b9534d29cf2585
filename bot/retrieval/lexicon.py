"""Fixed word lists the engine needs: function words, section cues, smalltalk.

A folded function word can also be half of a content word (``dau`` is "đâu" and "đầu", ``can`` is
"cần" and "căn"): the engine drops it only when it does not form a known two-syllable word with a
neighbour ("lan dau", "can cuoc" stay), and accented function words are dropped outright.
"""

from __future__ import annotations

from bot.knowledge.schema import Section

STOP_ACCENTED = frozenset(
    """à ạ ơi ah ạh cho tôi em anh chị mình bạn hỏi xin muốn cần gì những các là thì và với của có
    không được thế nào vậy như này đó ở đâu bao nhiêu lâu làm thủ tục giúp về đi đến tại ra
    bị phải nếu khi mà nhé nha để nên hay hoặc ai rồi luôn lại cái một việc cách hiện hả
    nhỉ ừ ok vâng dạ ơ cũng đã sẽ đang thể mới nữa chứ giùm dùm các bác cô chú ông bà ấy kia
    thôi biết cho còn""".split()
)
STOP_FOLDED = frozenset(
    """a oi ah cho toi em anh chi hoi xin muon can gi nhung cac la va voi cua co khong duoc nao vay
    nhu nay o lau lam tuc giup ve den ra bi phai neu khi nhe de hay hoac ai roi luon mot hien k
    ko kh hok hong dc vs ad admin j z v r nhi ha u ok vang da cung se moi nua gium dum how i my
    we our us do does did can could would should need needs want the an and or with to be been
    there this that which who when why take takes long much many have has any some also too
    is what where for of in please get you are it on at
    dang the de lai sao ma tai dau bao minh chu di thi ban nha cai""".split()
)

# Everyday words of the domain that say little about which procedure is meant ("người khác xã",
# "bước nào"); they weigh less when judging how much of a question a title explains.
GENERIC_FOLDED = frozenset(
    """nguoi khac xa phuong tinh noi con be buoc giay lam nop cap thi tran""".split()
)

# Phrases (folded) that say which part of a procedure is wanted. The cue that ends last in the
# question wins (the question word comes last in Vietnamese); on a tie, the earlier section.
SECTION_CUES: dict[Section, tuple[str, ...]] = {
    "fee": (
        "le phi",
        "phi",
        "bao nhieu tien",
        "mat bao nhieu",
        "mat bao nhieu tien",
        "het bao nhieu tien",
        "ton bao nhieu tien",
        "het bao nhieu",
        "ton bao nhieu",
        "mat bn",
        "het bn",
        "ton bn",
        "bao nhieu",
        "mien phi",
        "mat tien",
        "ton phi",
        "ton tien",
        "phi nhieu",
        "tien nhieu",
        "het nhieu",
        "may tien",
        "cost",
        "costs",
        "charge",
        "charges",
        "price",
        "pay",
        "gia bao nhieu",
        "thue",
        "fee",
        "cost",
        "how much",
    ),
    "time": (
        "bao lau",
        "may ngay",
        "bao nhieu ngay",
        "thoi han",
        "thoi gian",
        "khi nao co",
        "bao gio co",
        "bao gio thi co",
        "lau khong",
        "lau ko",
        "may hom",
        "how long",
        "how many days",
        "how many weeks",
        "until",
        "valid",
        "wait",
        "take long",
        "nhanh khong",
    ),
    "online": (
        "online",
        "onl",
        "truc tuyen",
        "tren mang",
        "qua mang",
        "tren vneid",
        "qua vneid",
        "tren dien thoai",
        "tren dt",
        "qua dt",
        "bang dt",
        "qua dien thoai",
        "tai nha",
        "dich vu cong truc tuyen",
        "internet",
        "on vneid",
        "vneid app",
        "the vneid app",
        "on the app",
        "in the app",
        "through vneid",
        "via vneid",
        "on my phone",
        "by phone",
        "do it online",
        "apply online",
    ),
    "documents": (
        "giay to gi",
        "giay gi",
        "can giay",
        "giay to",
        "ho so gom",
        "ho so can",
        "thanh phan ho so",
        "can gi",
        "can nhung gi",
        "can nhung giay",
        "chuan bi gi",
        "chuan bi nhung",
        "mang theo",
        "can mang",
        "documents",
        "papers",
        "what do i need",
        "bring",
        "paperwork",
        "required",
    ),
    "where": (
        "o dau",
        "noi nao",
        "cho nao",
        "nop o",
        "lam o",
        "nop tai",
        "co quan nao",
        "xa nao",
        "phuong nao",
        "where",
        "hand in",
        "which office",
        "di dau",
        "den dau",
    ),
    "legal": (
        "can cu",
        "luat nao",
        "nghi dinh",
        "thong tu",
        "quy dinh nao",
        "van ban nao",
        "legal",
    ),
    "steps": (
        "the nao",
        "nhu the nao",
        "ntn",
        "lam sao",
        "cac buoc",
        "trinh tu",
        "cach lam",
        "lam gi",
        "quy trinh",
        "huong dan",
        "how to",
        "steps",
        "procedure",
        "process",
        "kieu gi",
    ),
}

# Generic phrases (folded) removed from a question before judging what it is about.
FILLER_PHRASES: tuple[str, ...] = (
    "thu tuc",
    "cho hoi",
    "cho em hoi",
    "cho toi hoi",
    "xin hoi",
    "lam sao",
    "the nao",
    "nhu the nao",
    "bao nhieu",
    "bao lau",
    "o dau",
    "can gi",
    "la gi",
    "dang o",
    "nhu nao",
    "thuc hien",
    "thi sao",
    "the sao",
    "tai sao",
    "vi sao",
    "sao vay",
    "ra sao",
    "sao a",
)

SMALLTALK_PHRASES: dict[str, tuple[str, ...]] = {
    "greeting": ("xin chao", "chao ban", "chao ad", "chao em", "hello", "hi", "hey", "alo", "chao"),
    "thanks": ("cam on", "cam on ban", "thank", "thanks", "thank you", "tks", "cmon", "camon"),
    "who": ("ban la ai", "may la ai", "em la ai", "who are you", "ban lam duoc gi", "bot la gi"),
    "bye": ("tam biet", "bye", "goodbye"),
}


# Greetings and "who are you" inside a question are not what it is about ("xin chào, cho hỏi …").
FILLER_PHRASES += tuple(
    phrase for kind in ("greeting", "who", "thanks") for phrase in SMALLTALK_PHRASES[kind]
)

# -- conversation ------------------------------------------------------------------------------
# Phrases (folded) that make a message a conversational act rather than a question about a
# procedure.  Greeting, thanks and bye count only when the message holds nothing else.
ACT_PHRASES: dict[str, tuple[str, ...]] = {
    "greeting": (*SMALLTALK_PHRASES["greeting"], "chao ad a", "good morning", "good afternoon",
                 "good evening", "xin chao ad", "hi there", "chao buoi sang", "chao buoi trua",
                 "chao buoi chieu", "chao buoi toi", "chao ca nha"),
    "thanks": (*SMALLTALK_PHRASES["thanks"], "cam on nhieu", "cam on ad", "cam on ad nhieu",
               "cam on ban nhieu", "thanks a lot", "many thanks", "thank you very much",
               "ok tks", "ok thanks", "vang", "ok", "oke",
               "duoc roi", "dc r", "hieu roi", "ro roi", "helpful", "very helpful", "great",
               "perfect", "got it", "that s helpful", "that helps"),
    "bye": SMALLTALK_PHRASES["bye"],
    "help": (*SMALLTALK_PHRASES["who"], "lam duoc gi", "lam dc gi", "giup duoc gi",
             "giup dc gi", "ho tro gi", "lam dc nhung gi", "lam duoc nhung gi", "biet lam gi",
             "huong dan su dung", "what can you do", "cach dung", "hoi duoc nhung gi",
             "hoi dc nhung gi", "hoi duoc gi", "hoi dc gi", "hoi nhung gi", "dung the nao",
             "how does this work", "help me", "tro giup"),
    "person": ("gap can bo", "noi chuyen voi nguoi", "nguoi that", "gap nguoi", "noi voi can bo",
               "chuyen cho can bo", "nhan vien tu van", "tu van vien", "goi cho toi",
               "can bo goi lai", "lien he truc tiep voi can bo", "talk to a person",
               "speak to a person", "real person", "human agent", "talk to someone",
               "speak to someone", "talk to a human", "speak to a human", "gap truc tiep",
               "noi chuyen voi can bo", "can bo tu van", "nguoi tu van", "tu van truc tiep",
               "talk to staff", "speak to staff", "contact staff"),
    "complaint": ("khieu nai", "buc minh", "buc qua", "buc xuc", "ko ai nghe", "khong ai nghe",
                  "khong ai tra loi", "ko ai tra loi", "ko ai bat may", "khong ai bat may",
                  "hen lan hen lua", "gay kho de", "gay kho khan", "nhung nhieu", "that vong",
                  "qua te", "te qua", "lam an kieu gi", "tre hen", "cham tre qua", "phan nan",
                  "complain", "complaint", "nobody answers", "no one answers", "unacceptable",
                  "nhieu lan", "may lan roi", "ba lan roi", "di lai nhieu", "hanh dan",
                  "phien ha", "vo ly", "lan nao cung", "moi lan"),
    "offtopic": ("gia vang", "thoi tiet", "co mua", "troi mua", "nang nong", "bong da",
                 "ty so", "xo so", "chung khoan", "gia xang", "ke chuyen", "lam tho", "hat",
                 "nguoi yeu", "an gi", "nau an", "weather", "football", "gold price", "joke",
                 "bitcoin", "da thang may", "thang may trai", "doi tuyen", "da bong", "tran dau",
                 "world cup", "ca si", "phim", "game", "may gio roi"),
}

# Words of the public-service domain (folded): a message with none of them, that matches no
# procedure and no place, is off-topic rather than an unanswered question.
DOMAIN_FOLDED = frozenset(
    """thu tuc ho so giay to dang ky cap doi lam lai xin nop le phi chung nhan xac nhan dich vu
    cong truc tuyen ubnd cong an so tu phap thue dat nha xe bang lai bao hiem tro cap khai
    chung thuc giay phep hop dong ly hon con nuoi thai san dang kiem lao dong doanh nghiep
    procedure document certificate register registration permit licence license apply
    application fee tax insurance passport visa""".split()
)

# Words that mark a message as English or Vietnamese (folded; Vietnamese with and without
# diacritics). A message with diacritics is Vietnamese.
ENGLISH_WORDS = frozenset(
    """the a an i we you my our your how what where when which who why do does did can could
    is are was be have has need get apply register registration lost replace replacement
    renew renewal certificate licence license card passport marriage birth death fee cost
    long take online documents document office please hello thanks thank want would should
    there it for of to in on with and or much many does app status check submitted already
    company work permit foreign engineer baby week ward former live lives which go rent room
    temporary residence record criminal driving too also yesterday help lot lots""".split()
)
VIETNAMESE_WORDS = frozenset(
    """toi em anh chi minh ban ad oi a ah nhe nha gi sao nao dau bao nhieu lau khong ko k dc
    duoc lam the thi con cho hoi xin can giay to ho so nop dang ky cap lai doi mat phi le
    roi r vay v ntn j z cua o tai khi nao muon biet giup voi va hay hoac nhu""".split()
)

# Words that carry no topic of their own in a follow-up: "còn", "thế còn", "cái đó", "nó",
# Central-dialect question words (mô, răng, rứa, chi, ni, tê), polite particles.
FOLLOW_UP_WORDS = frozenset(
    """con the vay cai do no dieu ay kia nay thi sao ra roi r a ah ad oi nhe nha ha hả vang
    u ok oke dc duoc ko khong k hok hong luon nua cung di minh em toi anh chi ban e t m
    mo rang rua ni te chi ri rua tui tau hi he ho hay hoi what about and also that it this
    so then how is does do did take takes there s whats we i need can much my our us
    xong mat het ton dt dien thoai app ung dung nhieu lam qua thoi gian nay giai quyet
    xu ly apply get do done which should would could will shall may might must the an of to
    for in on at by with from about into its these those here when who whom whose why me mine
    you your he she they them their are was were be been being does did have has had got make
    give go come want cannot roughly around approximately whole thing things all any some more
    most very really just only please hi hello yes no not im issued hand submit submitted
    application paper papers one len xuong toi nhanh cham som gap kip hong hem nha""".split()
)

# Cues that a sentence of a long letter is the question.
QUESTION_CUES = (
    "hoi", "xin hoi", "cho hoi", "lam sao", "the nao", "nhu the nao", "o dau", "bao nhieu",
    "bao lau", "can gi", "giay to gi", "thu tuc gi", "duoc khong", "dc ko", "co duoc",
    "co phai", "phai lam", "nen lam", "bat dau tu dau", "lam gi", "ra sao", "how", "what",
    "where", "can i", "do i", "should", "a", "khong a", "ko a", "ntn",
)
