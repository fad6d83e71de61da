package seed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"estatecrm/aftersales"
	"estatecrm/auth"
	"estatecrm/ent"
	"estatecrm/ent/complaint"
	"estatecrm/ent/deal"
	"estatecrm/ent/schema/pulid"
	"estatecrm/ent/survey"
	"estatecrm/ent/unit"
	"estatecrm/rule"
)

// --- satisfaction surveys (满意度回访) ---

// The replay sends a survey to the buyer of every delivered unit and to the
// homeowner of every complaint resolved (rule.IssueDeliverySurvey,
// rule.IssueComplaintSurvey). Only a homeowner answers one, in the app
// (aftersales.AnswerSurvey refuses staff), so only those with a login can
// have answered: the three demo homeowners of each project, and the other
// buyers of delivered units who opened their login with the code of their
// handover (planAppOwners: about three in five). Most of their surveys are
// answered, each by the homeowner, some hours to days after it was sent
// (and after their login was opened), never after now; the rest, and every
// survey of an owner without a login, stay pending, as many do.
//
// The answers and app owners draw from a random source of their own
// (answerSeed), so that adding them left the rest of the demo as it was.

// answerSeed seeds the random source of the app owners and survey answers.
const answerSeed = 13

// pendingShare is the share of a homeowner's surveys left unanswered.
const pendingShare = 0.25

// appShare is the share of the other buyers of delivered units who opened
// their login.
const appShare = 0.6

// planAppOwners picks the buyers of delivered units, other than the demo
// homeowners, who open their login within three days of the handover.
func (s *seeder) planAppOwners(st *site) {
	for _, d := range st.deals {
		u, c := d.unit, d.customer
		if d.stage != deal.StageCONTRACTED || u.status != unit.StatusDELIVERED || s.isHomeowner(st, c) || s.answers.Float64() >= appShare {
			continue
		}
		h := &homeowner{customer: c, unit: u, login: ownerLogin(st.spec, len(st.spec.homeowners)+len(st.appOwners)),
			opensAfter: 2*time.Hour + time.Duration(s.answers.Int64N(int64(3*day))).Truncate(time.Second)}
		if h.activatedAt().After(s.now) {
			continue
		}
		st.appOwners = append(st.appOwners, h)
	}
}

// openApp is an app owner's activation of their login with the code of
// their handover. The rule sales.ActivateOwner runs (rule.ActivateHomeowner:
// the code good once and unexpired, one login per homeowner), with the demo
// password's one hash instead of a fresh argon2id hash per login (see
// Run): ~0.17 s each on a 2-core machine, ~9 s for the ~50 of the demo.
func (s *seeder) openApp(h *homeowner, code string) error {
	at := h.activatedAt()
	sum := sha256.Sum256([]byte(code))
	u, err := rule.ActivateHomeowner(auth.NewContext(s.at(at), nil), s.c, hex.EncodeToString(sum[:]), h.login,
		func() (string, error) { return s.hash, nil })
	h.user = u
	return wrap(err, "activate %s", h.login)
}

// answerSurveys answers the site's surveys of homeowners with a login, in
// the order they were sent, as each homeowner at the time they answered.
func (s *seeder) answerSurveys(st *site) error {
	owners := map[pulid.ID]*homeowner{}
	var customers []pulid.ID
	for _, h := range slices.Concat(st.homeowners, st.appOwners) {
		if h.user != nil {
			owners[h.customer.row.ID] = h
			customers = append(customers, h.customer.row.ID)
		}
	}
	sent, err := s.c.Survey.Query().Where(survey.ProjectID(st.project.ID), survey.CustomerIDIn(customers...)).All(s.ctx)
	if err != nil {
		return fmt.Errorf("surveys: %w", err)
	}
	byDeal, byComplaint := map[pulid.ID]*ent.Survey{}, map[pulid.ID]*ent.Survey{}
	for _, sv := range sent {
		switch {
		case sv.DealID != nil:
			byDeal[*sv.DealID] = sv
		case sv.ComplaintID != nil:
			byComplaint[*sv.ComplaintID] = sv
		}
	}
	// In the order of the plan, so that the answers are the same on every run.
	var tl timeline
	for _, d := range st.deals {
		if sv, h := byDeal[d.row.ID], owners[d.customer.row.ID]; sv != nil && h != nil {
			s.planAnswer(&tl, h, sv, s.deliveryAnswer(h, sv))
		}
	}
	for _, cp := range st.complaints {
		if sv, h := byComplaint[cp.row.ID], owners[cp.customer.row.ID]; sv != nil && h != nil {
			s.planAnswer(&tl, h, sv, s.complaintAnswer(cp, h, sv))
		}
	}
	return tl.run()
}

// answer is a homeowner's planned answer.
type answer struct {
	at        time.Time
	csat, nps int
	comment   string // "" none
	reason    string // "" none
}

// planAnswer adds the answer to the timeline unless the homeowner leaves
// the survey pending: a share of them by chance, and any whose answer would
// fall after now.
func (s *seeder) planAnswer(tl *timeline, h *homeowner, sv *ent.Survey, a answer) {
	if s.answers.Float64() < pendingShare || !a.at.After(sv.CreatedAt) || a.at.After(s.now) {
		return
	}
	tl.add(a.at, func() error {
		ctx := auth.NewContext(s.at(a.at), &auth.Viewer{UserID: h.user.ID, Role: auth.RoleOwner, CustomerID: h.customer.row.ID})
		in := aftersales.SurveyAnswer{SurveyID: sv.ID, Csat: a.csat, Nps: a.nps}
		if a.comment != "" {
			in.CsatComment = &a.comment
		}
		if a.reason != "" {
			in.NpsReason = &a.reason
		}
		_, err := aftersales.AnswerSurvey(ctx, s.c, in, a.at)
		return wrap(err, "answer survey %s of %s", sv.Kind, h.login)
	})
}

// since is the later of when a survey was sent and when its homeowner
// opened their login: an answer comes after both.
func since(h *homeowner, sv *ent.Survey) time.Time {
	return latest(sv.CreatedAt, h.activatedAt())
}

// deliveryAnswer: a new homeowner answers the delivery survey in the days
// after opening their login, mostly pleased.
func (s *seeder) deliveryAnswer(h *homeowner, sv *ent.Survey) answer {
	r := s.answers
	csat := pickWeighted(r, []weighted[int]{{5, 45}, {4, 35}, {3, 12}, {2, 5}, {1, 3}})
	at := since(h, sv).Add(time.Hour + time.Duration(r.Int64N(int64(10*day)))).Truncate(time.Second)
	return s.words(answer{at: at, csat: csat, nps: npsFor(r, csat)}, deliveryComments)
}

// complaintAnswer: the homeowner judges the service of a complaint along
// with the fix: as they rated it when closing it, low when the problem came
// back (answered before they reopened it), and otherwise within a day or so.
func (s *seeder) complaintAnswer(cp *complaintPlan, h *homeowner, sv *ent.Survey) answer {
	r := s.answers
	from := since(h, sv)
	a := answer{csat: pickWeighted(r, []weighted[int]{{5, 45}, {4, 35}, {3, 12}, {2, 5}, {1, 3}})}
	switch {
	case !cp.reopenedAt.IsZero() && cp.reopenedAt.After(from):
		a.csat = 1 + r.IntN(2)
		if cp.rating > 0 {
			a.csat = cp.rating
		}
		a.at = from.Add(time.Duration(float64(cp.reopenedAt.Sub(from)) * (0.3 + 0.6*r.Float64())))
	case cp.status == complaint.StatusCLOSED && cp.rating > 0 && cp.ratedAt.After(from):
		a.csat, a.at = cp.rating, cp.ratedAt.Add(time.Duration(2+r.IntN(20))*time.Minute)
	default:
		a.at = from.Add(time.Hour + time.Duration(r.Int64N(int64(30*time.Hour))))
	}
	a.at = a.at.Truncate(time.Second)
	a.nps = npsFor(r, a.csat)
	return s.words(a, complaintSurveyComments)
}

// npsFor is how likely someone as satisfied as csat is to recommend us:
// promoters (9–10) among the very satisfied, detractors (0–6) among the
// dissatisfied.
func npsFor(r *rand.Rand, csat int) int {
	switch csat {
	case 5:
		return pickWeighted(r, []weighted[int]{{10, 50}, {9, 40}, {8, 10}})
	case 4:
		return pickWeighted(r, []weighted[int]{{9, 30}, {8, 45}, {7, 25}})
	case 3:
		return pickWeighted(r, []weighted[int]{{7, 30}, {6, 40}, {5, 30}})
	case 2:
		return pickWeighted(r, []weighted[int]{{5, 40}, {4, 35}, {3, 25}})
	}
	return pickWeighted(r, []weighted[int]{{3, 40}, {2, 30}, {0, 30}})
}

// words gives an answer its comment and reason; one homeowner in five
// gives scores only, one in three no reason.
func (s *seeder) words(a answer, comments map[int][]string) answer {
	r := s.answers
	if r.IntN(5) != 0 {
		a.comment = pick(r, comments[a.csat])
	}
	if r.IntN(3) != 0 {
		switch {
		case a.nps >= 9:
			a.reason = pick(r, npsReasons["promoter"])
		case a.nps >= 7:
			a.reason = pick(r, npsReasons["passive"])
		default:
			a.reason = pick(r, npsReasons["detractor"])
		}
	}
	return a
}

var deliveryComments = map[int][]string{
	5: {"交付很顺利，房子品质超出预期。", "验房时工作人员很耐心，问题当场登记。", "精装细节做得好，和样板间一致。"},
	4: {"整体满意，个别墙面有小瑕疵已登记整改。", "交付流程清楚，就是排队时间有点长。"},
	3: {"房子还行，交付当天资料准备不全，跑了两趟。", "公区还没完工，希望尽快整改。"},
	2: {"验房发现的问题比较多，整改进度慢。"},
	1: {"交付标准和合同约定的不一样，很失望。"},
}

var complaintSurveyComments = map[int][]string{
	5: {"维修师傅准时上门，处理得很干净。", "客服跟进很及时，全程有反馈。"},
	4: {"问题解决了，预约上门等了两天。", "处理结果满意，进度可以更主动告知。"},
	3: {"修好了，但中间没人告诉我进度。", "来回沟通了好几次才解决。"},
	2: {"修完没多久又出现了，还要再跑一趟。"},
	1: {"报修好几次都没解决，很失望。"},
}

var npsReasons = map[string][]string{
	"promoter":  {"地段和品质都不错，已经推荐给同事了。", "物业和售后都很负责，愿意推荐。", "性价比高，朋友来看过也很喜欢。"},
	"passive":   {"房子不错，但周边配套还要等几年。", "整体还可以，要看朋友自己的需求。"},
	"detractor": {"售后响应太慢，暂时不会推荐。", "问题反复出现，不想推荐给朋友。", "交付质量一般，和宣传有差距。"},
}
