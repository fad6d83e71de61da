package seed

// The fixed material the demo is made of: the two projects, their towers and
// flat types, the staff, and the words agents and homeowners write. Only the
// choice among them is random (with a fixed seed).

import (
	"estatecrm/ent/complaint"
	"estatecrm/ent/customer"
	"estatecrm/ent/schema/schematype"
	"estatecrm/ent/unit"
)

// projectSpec describes one demo project and how much of it has been sold.
type projectSpec struct {
	key                   string // the suffix of its staff logins: manager.hz, agent.hz1…
	name, city, district  string
	address               string
	lat, lng              float64
	permitFmt             string // 预售许可证号, formatted with the launch year
	launchDaysAgo         int
	deliveryDaysAgo       int // the first handover; the project keeps selling its stock
	published             bool
	amenities             []schematype.Amenity
	yuanPerM2             float64 // list price per m² of gross area on the first floor
	floorPremium          float64 // each floor up adds this share to the price per m²
	depositsYuan          []int64 // the usual 认购 deposits of the sales office
	workplaces            []string
	competitors           []string
	buildings             []buildingSpec
	manager               person
	agents                []person
	homeowners            []person // buyers of delivered units who got a login
	customers             int
	delivered, contracted int // units sold: handed over, or signed and awaiting handover
	reserved, held        int
	cancelled             int // deals cancelled, their units back on sale
	onBehalfComplaints    int // complaints staff filed for owners without a login
}

// buildingSpec is a tower: every floor repeats the same stacks of flats, as
// real towers do (the 01 flat of each floor has the same layout).
type buildingSpec struct {
	name       string
	floors     int
	decoration unit.Decoration
	stacks     []stack
}

// stack is one flat type of a tower, at one position of every floor.
type stack struct {
	bedrooms, living, bathrooms int
	gross                       float64 // m²
	orientation                 unit.Orientation
	premium                     float64 // price factor: better orientation or view costs more
}

// person is a fixed demo person.
type person struct {
	name   string
	gender customer.Gender
}

const adminName = "赵立新"

var projectSpecs = []projectSpec{
	{
		key: "hz", name: "滨江·云玺", city: "杭州", district: "滨江区",
		address: "杭州市滨江区江南大道与长河路交叉口东北侧",
		lat:     30.2003, lng: 120.2126,
		permitFmt:     "杭售许字(%d)第000123号",
		launchDaysAgo: 790, deliveryDaysAgo: 110,
		published: true,
		amenities: []schematype.Amenity{
			{Kind: "METRO", Name: "地铁6号线·长河站", DistanceMeters: 650},
			{Kind: "SCHOOL", Name: "杭州市滨江区长河小学", DistanceMeters: 900},
			{Kind: "SCHOOL", Name: "杭州市江南实验学校", DistanceMeters: 1600},
			{Kind: "HOSPITAL", Name: "浙大二院滨江院区", DistanceMeters: 2800},
			{Kind: "MALL", Name: "滨江宝龙城", DistanceMeters: 1500},
			{Kind: "PARK", Name: "白马湖生态公园", DistanceMeters: 2100},
		},
		yuanPerM2: 47500, floorPremium: 0.006,
		depositsYuan: []int64{50000, 100000},
		workplaces:   []string{"在滨江物联网小镇上班", "在阿里巴巴滨江园区上班", "在钱江世纪城上班", "在网易上班", "在城西做生意", "在海康威视上班", "在萧山开厂"},
		competitors:  []string{"奥体板块的新盘", "钱江世纪城的二手房", "城西的一个盘", "隔壁的江南府"},
		buildings: []buildingSpec{
			{name: "1栋", floors: 18, decoration: unit.DecorationBARE, stacks: []stack{
				{3, 2, 2, 118, unit.OrientationNORTH_SOUTH, 1.03},
				{2, 2, 1, 89, unit.OrientationSOUTH, 0.98},
				{2, 2, 1, 92, unit.OrientationSOUTH, 0.98},
				{3, 2, 2, 125, unit.OrientationNORTH_SOUTH, 1.03},
			}},
			{name: "2栋", floors: 26, decoration: unit.DecorationFURNISHED, stacks: []stack{
				{3, 2, 2, 128, unit.OrientationNORTH_SOUTH, 1.03},
				{3, 2, 1, 105, unit.OrientationSOUTHEAST, 1.00},
				{4, 2, 2, 143, unit.OrientationNORTH_SOUTH, 1.04},
			}},
			{name: "3栋", floors: 33, decoration: unit.DecorationFURNISHED, stacks: []stack{
				{4, 2, 3, 178, unit.OrientationNORTH_SOUTH, 1.04},
				{4, 2, 2, 160, unit.OrientationSOUTHWEST, 1.01},
			}},
			// No 4栋: Chinese developers skip the unlucky number.
			{name: "5栋", floors: 28, decoration: unit.DecorationBARE, stacks: []stack{
				{2, 1, 1, 78, unit.OrientationEAST, 0.96},
				{3, 2, 2, 112, unit.OrientationSOUTH, 1.01},
				{2, 2, 1, 86, unit.OrientationWEST, 0.96},
			}},
		},
		manager: person{"周建华", customer.GenderMALE},
		agents: []person{
			{"陈思远", customer.GenderMALE}, {"林晓雯", customer.GenderFEMALE},
			{"王浩宇", customer.GenderMALE}, {"张婷婷", customer.GenderFEMALE},
		},
		homeowners: []person{
			{"沈国平", customer.GenderMALE}, {"钱慧敏", customer.GenderFEMALE}, {"孙伟杰", customer.GenderMALE},
		},
		customers: 1000, delivered: 46, contracted: 24, reserved: 12, held: 5, cancelled: 8,
		onBehalfComplaints: 3,
	},
	{
		key: "sz", name: "前海·天汇", city: "深圳", district: "南山区",
		address: "深圳市南山区前海深港合作区梦海大道与听海大道交汇处",
		lat:     22.5263, lng: 113.8971,
		permitFmt:     "深房许字(%d)南山第013号",
		launchDaysAgo: 575, deliveryDaysAgo: 92,
		published: false,
		amenities: []schematype.Amenity{
			{Kind: "METRO", Name: "地铁5号线·前海湾站", DistanceMeters: 500},
			{Kind: "SCHOOL", Name: "前海港湾小学", DistanceMeters: 800},
			{Kind: "SCHOOL", Name: "南山外国语学校(前海)", DistanceMeters: 1900},
			{Kind: "HOSPITAL", Name: "深圳市南山区人民医院", DistanceMeters: 3800},
			{Kind: "MALL", Name: "前海壹方城", DistanceMeters: 1200},
			{Kind: "PARK", Name: "前海石公园", DistanceMeters: 900},
		},
		yuanPerM2: 84000, floorPremium: 0.006,
		depositsYuan: []int64{100000, 200000},
		workplaces:   []string{"在前海上班", "在南山科技园上班", "在腾讯上班", "在宝安中心区上班", "在香港工作", "在福田做金融", "在蛇口做外贸"},
		competitors:  []string{"宝中的新盘", "后海的二手房", "蛇口的一个盘", "西丽的新盘"},
		buildings: []buildingSpec{
			{name: "1栋", floors: 33, decoration: unit.DecorationFURNISHED, stacks: []stack{
				{3, 2, 2, 98, unit.OrientationSOUTH, 1.02},
				{2, 2, 1, 79, unit.OrientationSOUTHEAST, 0.98},
				{4, 2, 2, 126, unit.OrientationSOUTH, 1.04},
			}},
			{name: "2栋", floors: 33, decoration: unit.DecorationFURNISHED, stacks: []stack{
				{3, 2, 2, 105, unit.OrientationSOUTHWEST, 1.01},
				{3, 1, 2, 95, unit.OrientationEAST, 0.97},
				{4, 2, 3, 168, unit.OrientationSOUTH, 1.04},
			}},
			{name: "3栋", floors: 25, decoration: unit.DecorationFURNISHED, stacks: []stack{
				{2, 1, 1, 78, unit.OrientationNORTH, 0.96},
				{3, 2, 2, 99, unit.OrientationSOUTH, 1.00},
				{3, 2, 2, 99, unit.OrientationSOUTH, 1.00},
				{4, 2, 2, 142, unit.OrientationSOUTHWEST, 1.03},
			}},
		},
		manager: person{"黄志明", customer.GenderMALE},
		agents: []person{
			{"李嘉欣", customer.GenderFEMALE}, {"刘子豪", customer.GenderMALE},
			{"吴佩珊", customer.GenderFEMALE}, {"郑家乐", customer.GenderMALE},
		},
		homeowners: []person{
			{"谢文博", customer.GenderMALE}, {"梁美玲", customer.GenderFEMALE}, {"何俊辉", customer.GenderMALE},
		},
		customers: 1000, delivered: 34, contracted: 28, reserved: 14, held: 6, cancelled: 8,
		onBehalfComplaints: 3,
	},
}

// Surnames roughly by frequency: pickSkewed favours the front of the list.
var surnames = []string{
	"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
	"郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
	"余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任", "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金",
	"石", "廖", "贾", "夏", "韦", "方", "白", "邹", "孟", "熊", "秦", "邱", "江", "尹", "薛", "段", "雷", "侯", "龙", "史",
	"陶", "黎", "贺", "顾", "毛", "郝", "龚", "邵", "万", "钱", "严", "戴", "莫", "孔", "汤", "欧阳", "司马",
}

var maleGiven = []string{
	"伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "刚", "平", "辉", "鹏", "华", "飞", "鑫", "波", "宇", "浩",
	"凯", "健", "俊", "帆", "旭", "宁", "龙", "林", "阳", "建华", "建国", "志强", "志明", "海涛", "晓东", "子轩", "浩然",
	"宇航", "俊杰", "文杰", "国庆", "永强", "天佑", "一鸣", "嘉豪", "思源", "明轩", "振华", "立伟", "家辉", "俊熙", "博文",
}

var femaleGiven = []string{
	"芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "燕", "玲", "婷", "雪", "慧", "颖", "琳", "倩", "洁", "欣", "梅", "晶",
	"丹", "萍", "红", "玉兰", "秀英", "桂英", "晓燕", "雅琪", "诗涵", "梓涵", "欣怡", "佳怡", "思雨", "美琳", "丽华",
	"晓红", "婉婷", "雨桐", "可欣", "静怡", "文静", "海燕", "春梅", "嘉欣", "梦瑶", "紫萱", "慧敏", "淑芬",
}

// Mobile prefixes of the three carriers (the phone hook accepts any 1[3-9]…).
var mobilePrefixes = []string{
	"130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157",
	"158", "159", "166", "173", "176", "177", "178", "180", "181", "182", "183", "185", "186", "187", "188", "189",
	"191", "193", "195", "198", "199",
}

var occupations = []string{
	"软件工程师", "产品经理", "教师", "医生", "护士", "公务员", "个体经营者", "企业高管", "金融从业者", "律师",
	"设计师", "销售经理", "外贸", "会计", "私营企业主", "自由职业", "工程师", "大学老师", "银行职员", "退休",
}

// weighted is a choice with a weight.
type weighted[T any] struct {
	v T
	w int
}

var sourceWeights = []weighted[customer.Source]{
	{customer.SourceWALK_IN, 22}, {customer.SourceREFERRAL, 12}, {customer.SourceONLINE_AD, 18},
	{customer.SourceSOCIAL, 14}, {customer.SourcePORTAL, 16}, {customer.SourceEVENT, 6},
	{customer.SourceHOTLINE, 9}, {customer.SourceOTHER, 3},
}

var ageWeights = []weighted[customer.AgeBand]{
	{customer.AgeBandUNDER_25, 5}, {customer.AgeBandFROM_25_TO_34, 38}, {customer.AgeBandFROM_35_TO_44, 32},
	{customer.AgeBandFROM_45_TO_54, 17}, {customer.AgeBandFROM_55, 8},
}

var arrivals = map[customer.Source]string{
	customer.SourceWALK_IN:   "路过自然到访",
	customer.SourceREFERRAL:  "老业主推荐到访",
	customer.SourceONLINE_AD: "看到线上广告后来访",
	customer.SourceSOCIAL:    "刷到抖音视频后来访",
	customer.SourcePORTAL:    "在贝壳上看到房源后来访",
	customer.SourceEVENT:     "参加周末暖场活动到访",
	customer.SourceHOTLINE:   "来电咨询后邀约到访",
	customer.SourceOTHER:     "朋友圈看到后来访",
}

var parties = map[customer.FamilyStructure]string{
	customer.FamilyStructureSINGLE:               "一个人来的",
	customer.FamilyStructureCOUPLE:               "夫妻二人一起来",
	customer.FamilyStructureCOUPLE_WITH_CHILDREN: "一家三口一起来",
	customer.FamilyStructureTHREE_GENERATIONS:    "带着父母和孩子一起来",
	customer.FamilyStructureOTHER:                "和朋友一起来",
}

var concerns = map[schematype.FocusFactor]string{
	"SCHOOL":              "很在意学区划片",
	"TRANSPORT":           "关心到地铁站的距离",
	"ENVIRONMENT":         "喜欢小区园林和楼间距",
	"PRICE":               "觉得单价偏高，想等优惠",
	"PROPERTY_MANAGEMENT": "问了物业品牌和物业费",
	"LAYOUT":              "对户型方正、得房率比较满意",
	"DEVELOPER_BRAND":     "认可开发商品牌",
	"COMMERCE":            "关心周边商业配套",
	"HOSPITAL":            "家里有老人，关注医院距离",
}

var plansByGrade = map[customer.Grade][]string{
	customer.GradeA: {"意向很强，准备近期定房", "基本看中，等家人确认后定房", "已在算首付，准备认购"},
	customer.GradeB: {"有意向，回去和家人商量", "比较喜欢，还想再对比一下楼层", "意向不错，等旧房出售"},
	customer.GradeC: {"还在对比周边楼盘", "暂时只是了解，不着急", "预算有差距，再看看"},
	customer.GradeD: {"意向不明确", "基本没有购房计划"},
}

var revisitTopics = []string{
	"重点谈了付款方式和首付比例", "对比了不同楼层的价差", "问了公积金贷款额度", "在洽谈区算了月供",
	"想申请额外折扣", "带家人看了实景样板间", "确认了车位和储藏室", "问了交房标准和装修清单",
}

var callReplies = []string{
	"客户表示这周末有空再来看看", "客户还在比较周边几个楼盘", "客户需要和家人商量", "客户询问公积金贷款额度",
	"客户关心学区划片政策", "客户问近期有没有特价房", "客户在外地出差，下周回来再约", "客户说旧房已挂牌，等卖掉再定",
	"客户未接，稍后再打", "客户对价格还是有顾虑",
}

var messageContents = []string{
	"最新价格表和户型图", "样板间视频", "实景照片", "近期优惠活动信息", "周末暖场活动邀请", "贷款政策解读", "学区划片说明",
}

var messageReplies = []string{"客户已读未回", "客户回复会考虑", "客户说周末再来看", "客户表示感谢", "客户问能否再便宜些"}

var lostReasonsD = []string{
	"号码为空号，无法联系", "对方称非本人，没有留过电话", "同行踩盘，非真实客户", "客户明确表示无购房需求，要求不再联系",
}

var lostReasonsC = []string{
	"客户已在%s购房，暂停跟进", "预算不足，暂缓购房", "家里意见不统一，暂不考虑", "户籍和社保不满足购房条件", "准备观望一年再说",
}

var cancelReasons = []string{
	"贷款预审未通过", "家庭意见不统一，决定不买", "资金周转困难，首付不够", "看中了其他楼盘", "工作调动离开本市",
}

var customerTags = []string{"价格敏感", "外地户籍", "社保未满", "公积金贷款", "关注高楼层", "多次到访", "意向强", "关注大平层"}

// complaintText is what a homeowner writes about one category of problem and
// what staff answer.
type complaintText struct {
	title, description string
	progress           string // when work starts
	internal           string // a staff note the homeowner does not see
	resolution         string
	reopen             string // when the problem comes back
}

var complaintTexts = map[complaint.Category]complaintText{
	complaint.CategoryLEAK: {
		"主卫天花板渗水", "主卫天花板靠近排风扇的位置一直在滴水，楼上业主说他们没用水，担心是防水没做好。",
		"维修师傅已上门，初步判断为楼上卫生间防水层破损，需要做闭水试验。",
		"费用由总包单位承担，已通知施工方到场，楼上业主已同意配合开门。",
		"已重做楼上卫生间防水并完成48小时闭水试验，天花板已修补。",
		"下雨后天花板又开始渗水，比之前还严重。",
	},
	complaint.CategoryCRACK: {
		"客厅墙面出现裂缝", "客厅电视墙有一条约1米长的斜向裂缝，收房时没有，最近越来越明显。",
		"工程师已上门测量，裂缝为抹灰层收缩裂缝，不影响结构安全。",
		"属于保修范围，安排分包单位挂网重新批灰，预计需要3天。",
		"已挂网批灰并重新刷漆，墙面已恢复。",
		"刷漆后一周裂缝又出现了。",
	},
	complaint.CategoryFITTINGS: {
		"入户门锁无法正常反锁", "入户门的智能锁反锁后从外面还能打开，存在安全隐患。",
		"已联系门锁厂家售后，师傅预约明天上门。",
		"厂家确认为锁体批次问题，同批次还有十几户，建议统一排查。",
		"已更换锁体并重新设置指纹，业主现场验证正常。",
		"换锁后还是偶尔反锁失效。",
	},
	complaint.CategoryOTHER_QUALITY: {
		"地暖部分区域不热", "次卧和书房的地暖开了一天都不热，其他房间正常。",
		"维修人员已上门检测，怀疑分水器阀门堵塞。",
		"分水器为甲供材料，需走材料质保流程。",
		"已清洗分水器并更换一个阀门，各房间温度已正常。",
		"降温后次卧地暖又不热了。",
	},
	complaint.CategoryPROPERTY_SERVICE: {
		"地下车库照明经常不亮", "B2层车库有一排灯已经坏了一个多星期，晚上停车很不安全，物业一直说会修。",
		"物业工程部已安排电工排查线路。",
		"物业服务合同约定24小时内修复公共照明，本次已超时，需约谈物业项目经理。",
		"已更换损坏灯管和一个电源模块，照明恢复正常。",
		"修好没几天又有三盏灯不亮了。",
	},
	complaint.CategoryDELIVERY: {
		"交付时承诺的车位充电桩未安装", "收房时说一个月内装好充电桩，现在已经过去两个月了还没动静。",
		"已与供电局沟通报装进度，安排专人跟进。",
		"供电局容量审批延误，需要开发商出函催办。",
		"充电桩已安装并通电验收，业主已正常使用。",
		"充电桩装好后经常跳闸充不了电。",
	},
	complaint.CategoryCONTRACT_PRICE: {
		"认购后同楼层降价要求补差价", "我认购后一个月，同户型低两层的房子降价了5万，要求补差价或给说法。",
		"已向营销中心申请价格复核，会在3个工作日内答复。",
		"合同价格合法有效，可考虑赠送物业费作为安抚，需总监审批。",
		"经协商，公司赠送两年物业费，业主表示接受。",
		"物业费赠送一直没有落实。",
	},
	complaint.CategorySALES_SERVICE: {
		"置业顾问承诺的赠送面积未兑现", "买房时顾问说阳台可以封起来算赠送面积，现在物业说不能封。",
		"已调取当时的沟通记录核实情况。",
		"顾问确有口头承诺，已批评教育；需与物业协商统一封阳台的方案。",
		"已与物业确认统一的封阳台样式，业主可按规范封闭，公司承担一半费用。",
		"物业又说方案没批下来，不让施工。",
	},
	complaint.CategoryOTHER: {
		"小区快递柜数量不足", "小区只有两组快递柜，每天晚上都满，快递只能放门口。",
		"已向物业和快递柜运营商反映，正在协调增设点位。",
		"运营商同意增设两组，需要业委会同意占用公共区域。",
		"已在3栋和5栋之间新增两组快递柜。",
		"新增的快递柜还是不够用。",
	},
}

var complaintComments = map[int][]string{
	5: {"处理很及时，师傅也很专业，点赞！", "响应快，沟通到位，非常满意。"},
	4: {"问题解决了，就是等的时间有点长。", "总体满意，希望以后能更快一些。"},
	3: {"解决了，但是来回跑了好几次。", "结果还行，过程比较折腾。"},
	2: {"修完没多久问题又出现了，不满意。"},
	1: {"完全没有解决问题。"},
}

var departmentNames = map[complaint.Department]string{
	complaint.DepartmentSALES:            "销售部",
	complaint.DepartmentCUSTOMER_SERVICE: "客服中心",
	complaint.DepartmentENGINEERING:      "工程部",
	complaint.DepartmentPROPERTY:         "物业",
}

// departmentFor routes a complaint the way the seed handbook does.
func departmentFor(c complaint.Category) complaint.Department {
	switch c {
	case complaint.CategoryPROPERTY_SERVICE:
		return complaint.DepartmentPROPERTY
	case complaint.CategoryCONTRACT_PRICE:
		return complaint.DepartmentSALES
	case complaint.CategorySALES_SERVICE, complaint.CategoryOTHER:
		return complaint.DepartmentCUSTOMER_SERVICE
	default:
		return complaint.DepartmentENGINEERING
	}
}

// followUpActions are what an agent plans next, by the customer's stage.
var followUpActions = map[customer.Stage][]string{
	customer.StageLEAD:        {"电话邀约到访", "发送项目资料", "邀请参加周末暖场活动"},
	customer.StageVISITED:     {"邀约复访", "发送最新价格表", "电话回访", "邀约看实景样板间"},
	customer.StageNEGOTIATING: {"约家人复访定房", "跟进贷款预审结果", "申请特价审批", "确认首付款筹备情况"},
	customer.StageRESERVED:    {"催签约，确认首付到账", "提醒准备签约材料"},
	customer.StageCONTRACTED:  {"提醒按揭面签", "跟进银行放款进度", "通知交房时间"},
	customer.StageOWNER:       {"交付回访", "邀请参加业主活动"},
}

var revisitParties = []string{"带家人", "带父母", "和爱人一起", "一个人", "带朋友帮忙参谋"}
